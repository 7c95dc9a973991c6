package e2e_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/apache/arrow/go/v15/parquet"
	"github.com/rs/zerolog"
	"retain/jobfile"
	"retain/night"
	"retain/pipeline"
	"retain/schemas"
	"retain/stages"
	"retain/stages/audiences"
	"retain/synth"
)

// digests hashes every file under root but the run folders (manifest and
// _SUCCESS, which hold the run id and times) and staging, by path.
func digests(t *testing.T, root string) map[string][sha256.Size]byte {
	out := map[string][sha256.Size]byte{}
	for p, raw := range snapshot(t, root, exceptRunVariant) {
		out[p] = sha256.Sum256(raw)
	}
	return out
}

// TestNightlyRerunIsByteIdentical runs jobs/nightly.yaml on one date of a
// generated shop twice, under two run ids into two output roots: every file
// of every table partition, the report and the audience lists has the same
// sha256. The shop's UUID customer ids outgrow a 1 MiB dictionary page,
// past which dictionary-encoded Parquet fell back to PLAIN and wrote its
// footer in map order.
func TestNightlyRerunIsByteIdentical(t *testing.T) {
	const date = "2026-11-22"
	shop := t.TempDir()
	customers := 30_000
	if raceEnabled {
		customers = 3_000
	}
	if _, err := synth.Generate(synth.Options{Dir: shop, Customers: customers, EndDate: time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC),
		Seed: 1, UUIDCustomerIDs: true}); err != nil {
		t.Fatal(err)
	}
	outs := []string{t.TempDir(), t.TempDir()}
	// The runs are mostly one core wide; side by side they take the time of one.
	errs := make([]error, len(outs))
	var wg sync.WaitGroup
	for i, out := range outs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = runNightly(shop, out, fmt.Sprintf("night-%d", i+1), date)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}

	first, second := digests(t, outs[0]), digests(t, outs[1])
	want := []string{filepath.Join(schemas.ReportDir, "snapshot_date="+date, schemas.ReportFile)}
	for _, tbl := range schemas.Outputs() {
		want = append(want, filepath.Join(tbl.Name, "snapshot_date="+date, "part-00000.parquet"))
	}
	for _, l := range audiences.Names {
		want = append(want, filepath.Join(schemas.AudiencesDir, "snapshot_date="+date, l+".csv"))
	}
	for _, p := range want {
		if _, ok := first[p]; !ok {
			t.Errorf("the run wrote no %s", p)
		}
	}
	if len(first) != len(second) {
		t.Errorf("%d files in the first run, %d in the second", len(first), len(second))
	}
	for p, sum := range first {
		if second[p] != sum {
			t.Errorf("%s differs between runs of the same date", p)
		}
	}

	// The shop is big enough: customer_id as a dictionary would outgrow its
	// page. The race pass runs a smaller shop and checks only the bytes.
	if raceEnabled {
		return
	}
	tbl := readTable(t, outs[0], schemas.CustomerSummary.Name, date)
	defer tbl.Release()
	var dictBytes int64
	for _, chunk := range tbl.Column(tbl.Schema().FieldIndices("customer_id")[0]).Data().Chunks() {
		ids := chunk.(*array.String)
		for i := 0; i < ids.Len(); i++ {
			dictBytes += 4 + int64(len(ids.Value(i)))
		}
	}
	if dictBytes <= parquet.DefaultDictionaryPageSizeLimit {
		t.Errorf("customer_id would make a %d-byte dictionary, within the %d-byte page limit", dictBytes, parquet.DefaultDictionaryPageSizeLimit)
	}
}

// runNightly runs jobs/nightly.yaml on the shop folder, as `retain run
// --input shop --output out --run-id id` does.
func runNightly(shop, out, runID, date string) error {
	j, err := jobfile.Load("../jobs/nightly.yaml")
	if err != nil {
		return err
	}
	night.OverrideInput(j, shop)
	reg := &night.Registry{}
	if err := stages.RegisterAll(reg); err != nil {
		return err
	}
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	_, err = pipeline.Run(context.Background(), pipeline.Options{Job: j, Registry: reg, RunDate: date, RunID: runID, OutputDir: out, Mem: mem, Log: zerolog.Nop()})
	if n := mem.CurrentAlloc(); err == nil && n != 0 {
		err = errors.New(runID + ": Arrow memory leaked")
	}
	return err
}
