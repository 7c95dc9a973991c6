package extract

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/rs/zerolog"

	"retain/config"
	"retain/night"
	"retain/schemas"
	"retain/stages/internal/input"
)

// TestWarehouseSideInputs: side inputs that are BigQuery tables go to the
// warehouse reader, their rows are handed on and counted, and an input
// without rows fails where the file reader's would.
func TestWarehouseSideInputs(t *testing.T) {
	const job = `name: t
input:
  orders: {path: o.csv}
  order_items: {bigquery: {project: shop-analytics, dataset: sales, table: lines}}
  fx_rates: {bigquery: {project: shop-analytics, dataset: sales, table: rates}}
  reporting_currency: EUR
`
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	j, err := config.Decode([]byte(job), t.TempDir(), []config.Section{night.InputSection})
	if err != nil {
		t.Fatal(err)
	}
	items := func(rows int) input.SideInput {
		return func(ctx context.Context, rc *night.Context, src *night.Source, tbl schemas.Table, _ []string, visit func(arrow.Record) error) error {
			if src.BigQuery == nil || src.BigQuery.Table == "" {
				t.Errorf("%s: not a warehouse source", tbl.Name)
			}
			b := array.NewStringBuilder(mem)
			defer b.Release()
			for range rows {
				b.Append("o1")
			}
			col := b.NewArray()
			defer col.Release()
			rec := array.NewRecord(arrow.NewSchema([]arrow.Field{{Name: "order_id", Type: arrow.BinaryTypes.String}}, nil), []arrow.Array{col}, int64(rows))
			defer rec.Release()
			tagged := input.Tag(rec, "bigquery://"+src.BigQuery.Ref().String(), input.NoRow)
			defer tagged.Release()
			return visit(tagged)
		}
	}
	tests := []struct {
		name  string
		wh    input.SideInput
		rows  int64 // item rows counted as read
		used  int64
		err   error
		wants string
	}{
		{"items", items(3), 3, 1, nil, ""},
		{"no rows, no used orders", items(0), 0, 0, nil, ""},
		{"no rows while orders are used", items(0), 0, 2, ErrNoRows, "input.order_items: bigquery://shop-analytics.sales.lines holds no rows while 2 orders are used"},
		{"no warehouse reader", nil, 0, 0, ErrNoWarehouse, "input.order_items.bigquery"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc, err := night.New(j, "test", "2026-11-30", mem, zerolog.Nop())
			if err != nil {
				t.Fatal(err)
			}
			rc.Rows.Used = tt.used
			reg := &night.Registry{}
			if err := RegisterItems(reg, tt.wh); err != nil {
				t.Fatal(err)
			}
			var got int64
			err = func() error {
				st, err := reg.Specs()[0].New(context.Background(), rc)
				if err != nil {
					return err
				}
				return st.Finish(context.Background(), emitFunc(func(rec arrow.Record) error {
					if src, row := input.SourceOf(rec); src != "bigquery://shop-analytics.sales.lines" || row != input.NoRow {
						t.Errorf("batch from %s row %d", src, row)
					}
					got += rec.NumRows()
					return nil
				}))
			}()
			if !errors.Is(err, tt.err) || (tt.err != nil && !strings.Contains(err.Error(), tt.wants)) {
				t.Fatalf("err = %v, want %v mentioning %q", err, tt.err, tt.wants)
			}
			if got != tt.rows || rc.Items.Read != tt.rows {
				t.Errorf("%d rows emitted, %d counted, want %d", got, rc.Items.Read, tt.rows)
			}
		})
	}
	// FX rates: the warehouse reader's rows reach the visitor; none fail.
	rc, err := night.New(j, "test", "2026-11-30", mem, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	fx := night.InputOf(j).FXRates
	var n int64
	count := func(rec arrow.Record) error { n += rec.NumRows(); return nil }
	if err := SideInputs(items(2))(context.Background(), rc, fx, schemas.FXRates, schemas.FXRatesRequired, count); err != nil || n != 2 {
		t.Errorf("fx rates: %d rows, err %v", n, err)
	}
	err = SideInputs(items(0))(context.Background(), rc, fx, schemas.FXRates, schemas.FXRatesRequired, count)
	if !errors.Is(err, ErrNoRows) || !strings.HasPrefix(err.Error(), "input.fx_rates: ") {
		t.Errorf("fx rates without rows: %v", err)
	}
	if err := SideInputs(nil)(context.Background(), rc, fx, schemas.FXRates, schemas.FXRatesRequired, count); !errors.Is(err, ErrNoWarehouse) {
		t.Errorf("fx rates without a warehouse reader: %v", err)
	}
}
