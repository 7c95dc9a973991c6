package e2e_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/parquet/pqarrow"

	"retain/pipeline"
	"retain/stages/load"
	"retain/warehouse/bqfake"
)

// BenchmarkOrdersSource runs the job on the same 2M orders of 200k customers
// read from a Parquet file and through the BigQuery client from the
// in-process Storage Read fake: the client side of a BigQuery read (gRPC,
// Arrow IPC decoding) against the local reader, without network time.
//
//	go test -run '^$' -bench OrdersSource -benchtime 1x ./e2e/
func BenchmarkOrdersSource(b *testing.B) {
	const date = "2026-03-31"
	batches := resultBatches(genOrders(2_000_000, 200_000), 64*1024)
	defer func() {
		for _, r := range batches {
			r.Release()
		}
	}()
	dir := b.TempDir()
	f, err := os.Create(filepath.Join(dir, "orders.parquet"))
	if err != nil {
		b.Fatal(err)
	}
	// The file holds the orders; _shared_order_id is the query's.
	orders := arrow.NewSchema(ordersFields, nil)
	w, err := pqarrow.NewFileWriter(orders, f, load.WriterProperties(1<<20), pqarrow.DefaultWriterProps())
	if err != nil {
		b.Fatal(err)
	}
	for _, r := range batches {
		rec := array.NewRecord(orders, r.Columns()[:len(ordersFields)], r.NumRows())
		err := w.WriteBuffered(rec)
		rec.Release()
		if err != nil {
			b.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	parquetJob := "name: src\ninput: {orders: {path: orders.parquet}}\n"
	bqJob := "name: src\ninput: {orders: {bigquery: {project: shop-analytics, dataset: sales, table: orders}}}\n"

	b.Run("parquet", func(b *testing.B) {
		for range b.N {
			out := b.TempDir()
			if _, err := runJob(b, dir, parquetJob, date, out, false); err != nil {
				b.Fatal(err)
			}
			reportExtract(b, out, date)
		}
	})
	// One stream, as an ordered query gets, and four, which the client
	// reads concurrently.
	for _, streams := range []int{1, 4} {
		b.Run(fmt.Sprintf("bigquery/streams=%d", streams), func(b *testing.B) {
			fake := bqfake.New()
			fake.ArrowTable("shop-analytics", "sales", "orders", resultSchema)
			storage, _, useFakes := serveQueryResult(b, fake, batches)
			storage.Streams = streams
			for range b.N {
				out := b.TempDir()
				_, err := runJobWith(b, dir, bqJob, date, out, useFakes)
				if err != nil {
					b.Fatal(err)
				}
				reportExtract(b, out, date)
			}
		})
	}
}

// reportExtract reports the extract and validate stages' own times from
// the manifest.
func reportExtract(b *testing.B, out, date string) {
	raw, err := os.ReadFile(filepath.Join(pipeline.RunDir(out, date), pipeline.ManifestName))
	if err != nil {
		b.Fatal(err)
	}
	var m pipeline.Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		b.Fatal(err)
	}
	for _, s := range m.Stages {
		switch s.Name {
		case "extract", "validate":
			b.ReportMetric(float64(s.DurationMS), s.Name+"_ms")
		}
	}
}
