// Package e2e tests the whole nightly job: every stage as stages.RegisterAll
// registers it, run through pipeline.Run and read back from the committed
// tables. It covers the golden cases in testdata/ (each a job.yaml, run_date,
// input/ and the expected/ tables and row accounting), reruns and backfills
// (byte-identical tables, failures that leave committed dates alone), hostile
// shops and inputs, the report and audience files, the CLV models on CDNOW,
// and the BigQuery source and sink through the real client against the
// in-process fakes of warehouse/bqfake. The tests live apart from the stage
// packages because they depend on all of them.
//
// After a deliberate change to an output, regenerate the golden tables and
// review the diff under testdata/*/expected/:
//
//	go test ./e2e/ -run TestGolden -update
//
// -update rewrites the <table>.csv files a case already pins (it adds none)
// and its row accounting, rows.json and item_rows.json. The binary inputs of
// the testdata/hostile/ cases are written by
//
//	go test ./e2e/ -run 'TestWriteHostileInputs|TestWriteCorruptParquetInputs' -write-hostile
//
// and the cases themselves run through the CLI in cmd/retain.
package e2e
