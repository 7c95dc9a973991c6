package extract

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
	arrowcsv "github.com/apache/arrow/go/v15/arrow/csv"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/rs/zerolog"
	"retain/config"
	"retain/night"
	"retain/schemas"
	"retain/stages/internal/input"
)

// BenchmarkCSVReader decodes 1M order rows (8 columns, about 90 MB) with
// the stage's reader and with Arrow's CSV reader as the stage used it
// before (every column as text, null values, chunks of input.BatchRows), both on
// the calling goroutine, so only decoding is measured.
//
//	go test -run '^$' -bench CSVReader -benchtime 3x ./stages/extract/
func BenchmarkCSVReader(b *testing.B) {
	dir := b.TempDir()
	path := filepath.Join(dir, "orders.csv")
	fh, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriter(fh)
	fmt.Fprintln(w, "order_id,customer_id,order_ts,amount,currency,country,channel,status")
	countries := []string{"DE", "FR", "NL", "AT", "\"Korea, Republic of\""}
	for i := range 1_000_000 {
		fmt.Fprintf(w, "O%010d,C%08d,2026-%02d-%02d %02d:%02d:00,%d.%02d,EUR,%s,web,completed\n",
			i, i%200_000, 1+i%12, 1+i%28, i%24, i%60, 5+i%300, i%100, countries[i%len(countries)])
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	fh.Close()
	st, _ := os.Stat(path)
	j, err := config.Decode([]byte("name: b\ninput: {orders: {path: orders.csv}}\n"), dir, []config.Section{night.InputSection})
	if err != nil {
		b.Fatal(err)
	}
	rc, err := night.New(j, "b", "2026-11-30", memory.DefaultAllocator, zerolog.Nop())
	if err != nil {
		b.Fatal(err)
	}
	r, err := newReader(rc, &night.InputOf(j).Orders, schemas.Orders, schemas.OrdersRequired)
	if err != nil {
		b.Fatal(err)
	}
	f := &r.files[0]

	b.Run("stage", func(b *testing.B) {
		b.SetBytes(st.Size())
		for range b.N {
			cf, err := openCSV(path, r.src)
			if err != nil {
				b.Fatal(err)
			}
			var rows int64
			err = r.csvDecoder(cf, f)(func(bt batch) bool {
				rows += bt.rec.NumRows()
				bt.release()
				return true
			})
			cf.Close()
			if err != nil || rows != 1_000_000 {
				b.Fatalf("%d rows, %v", rows, err)
			}
		}
	})
	b.Run("arrow", func(b *testing.B) {
		b.SetBytes(st.Size())
		include := make([]string, len(f.columns))
		types := map[string]arrow.DataType{}
		for i, c := range f.columns {
			include[i] = c.source
			types[c.source] = arrow.BinaryTypes.String
		}
		for range b.N {
			fh, err := os.Open(path)
			if err != nil {
				b.Fatal(err)
			}
			cr := arrowcsv.NewInferringReader(fh,
				arrowcsv.WithHeader(true), arrowcsv.WithComma(','),
				arrowcsv.WithIncludeColumns(include), arrowcsv.WithColumnTypes(types),
				arrowcsv.WithNullReader(true, r.src.CSV.NullValues...),
				arrowcsv.WithChunk(input.BatchRows), arrowcsv.WithAllocator(memory.DefaultAllocator))
			var rows int64
			for cr.Next() {
				rows += cr.Record().NumRows()
			}
			err = cr.Err()
			cr.Release()
			fh.Close()
			if err != nil || rows != 1_000_000 {
				b.Fatalf("%d rows, %v", rows, err)
			}
		}
	})
}
