package bqsource

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"cloud.google.com/go/bigquery"
	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"

	"retain/night"
	"retain/schemas"
	"retain/warehouse/bqident"
)

// TestPlanTable checks the read of a side input: mapped columns renamed,
// unmapped optional ones left out, every row, and the checks orders get.
func TestPlanTable(t *testing.T) {
	col := func(name string, typ bigquery.FieldType) *bigquery.FieldSchema {
		return &bigquery.FieldSchema{Name: name, Type: typ}
	}
	bq := &night.BigQuerySource{Project: "shop-analytics", Dataset: "sales", Table: "lines"}
	tests := []struct {
		name     string
		table    schemas.Table
		required []string
		columns  map[string]string
		schema   bigquery.Schema
		sql      string
		err      error
	}{
		{"items, mapped", schemas.OrderItems, schemas.OrderItemsRequired, map[string]string{"order_id": "OrderNo", "sku": "Article"},
			bigquery.Schema{col("OrderNo", bigquery.IntegerFieldType), col("Article", bigquery.StringFieldType), col("quantity", bigquery.IntegerFieldType), col("Note", bigquery.StringFieldType)},
			"SELECT `OrderNo` AS `order_id`, `Article` AS `sku`, `quantity` AS `quantity` FROM `shop-analytics.sales.lines`", nil},
		{"items with costs", schemas.OrderItems, schemas.OrderItemsRequired, map[string]string{"unit_cost": "cost"},
			bigquery.Schema{col("order_id", bigquery.StringFieldType), col("sku", bigquery.StringFieldType), col("unit_price", bigquery.FloatFieldType), col("cost", bigquery.NumericFieldType)},
			"SELECT `order_id` AS `order_id`, `sku` AS `sku`, `unit_price` AS `unit_price`, `cost` AS `unit_cost` FROM `shop-analytics.sales.lines`", nil},
		{"unit_cost as a boolean", schemas.OrderItems, schemas.OrderItemsRequired, nil,
			bigquery.Schema{col("order_id", bigquery.StringFieldType), col("sku", bigquery.StringFieldType), col("unit_cost", bigquery.BooleanFieldType)}, "", night.ErrInputSchema},
		{"fx rates", schemas.FXRates, []string{"date", "currency", "rate_to_reporting"}, map[string]string{"rate_to_reporting": "rate"},
			bigquery.Schema{col("date", bigquery.DateFieldType), col("currency", bigquery.StringFieldType), col("rate", bigquery.NumericFieldType)},
			"SELECT `date` AS `date`, `currency` AS `currency`, `rate` AS `rate_to_reporting` FROM `shop-analytics.sales.lines`", nil},
		{"items without sku", schemas.OrderItems, schemas.OrderItemsRequired, nil,
			bigquery.Schema{col("order_id", bigquery.StringFieldType)}, "", night.ErrInputSchema},
		{"rate as a boolean", schemas.FXRates, []string{"date", "currency", "rate_to_reporting"}, nil,
			bigquery.Schema{col("date", bigquery.DateFieldType), col("currency", bigquery.StringFieldType), col("rate_to_reporting", bigquery.BooleanFieldType)}, "", night.ErrInputSchema},
		{"repeated sku", schemas.OrderItems, schemas.OrderItemsRequired, nil,
			bigquery.Schema{col("order_id", bigquery.StringFieldType), {Name: "sku", Type: bigquery.StringFieldType, Repeated: true}}, "", ErrSchema},
		{"column injection", schemas.OrderItems, schemas.OrderItemsRequired, map[string]string{"sku": "a` b"},
			bigquery.Schema{col("order_id", bigquery.StringFieldType), col("a` b", bigquery.StringFieldType)}, "", bqident.ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := &night.Source{BigQuery: bq, Columns: tt.columns}
			q, err := PlanTable(src, tt.table, tt.required, tt.schema)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("err = %v, want %v", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if q.SQL != tt.sql || q.Name != tt.table.Name || q.Table != "shop-analytics.sales.lines" || len(q.Params) != 0 {
				t.Errorf("query %s %s %s %v\nwant %s", q.Name, q.Table, q.SQL, q.Params, tt.sql)
			}
			// Unordered, so BigQuery serves it over several streams.
			found, err := inspect(q.SQL)
			if err != nil || len(found) > 0 {
				t.Errorf("inspect: %v %v", found, err)
			}
		})
	}
}

// TestSortItems feeds item batches whose orders are scattered across them
// and checks every order's rows come out together, in order of the trimmed
// id (null and blank ids first), all rows and columns kept, in batches.
func TestSortItems(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	sc := arrow.NewSchema([]arrow.Field{
		{Name: "order_id", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "sku", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "quantity", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	}, nil)
	batch := func(rows ...[3]string) arrow.Record {
		b := array.NewRecordBuilder(mem, sc)
		defer b.Release()
		for _, r := range rows {
			for i, v := range r {
				if v == "null" {
					b.Field(i).AppendNull()
				} else if err := b.Field(i).AppendValueFromString(v); err != nil {
					t.Fatal(err)
				}
			}
		}
		return b.NewRecord()
	}
	recs := []arrow.Record{
		batch([3]string{"o2", "b", "1"}, [3]string{"o1", "a", "2"}, [3]string{"null", "x", "1"}),
		batch([3]string{" o1", "c", "null"}, [3]string{"o3", "a", "1"}),
		batch([3]string{"o2", "a", "3"}, [3]string{"", "y", "1"}, [3]string{"o1 ", "b", "1"}),
	}
	defer func() {
		for _, r := range recs {
			r.Release()
		}
	}()
	var got []string
	batches := 0
	err := sortItems(context.Background(), mem, recs, func(rec arrow.Record) error {
		batches++
		for i := 0; i < int(rec.NumRows()); i++ {
			got = append(got, fmt.Sprintf("%s|%s|%s", rec.Column(0).ValueStr(i), rec.Column(1).ValueStr(i), rec.Column(2).ValueStr(i)))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if batches != 1 || len(got) != 8 {
		t.Fatalf("%d batches, rows %v", batches, got)
	}
	var keys []string
	for _, g := range got {
		keys = append(keys, strings.TrimSpace(strings.Split(g, "|")[0]))
	}
	if !sameKeys(keys) {
		t.Errorf("order ids %v", keys)
	}
	for _, want := range []string{"o2|b|1", "o1|a|2", "(null)|x|1", " o1|c|(null)", "o3|a|1", "o2|a|3", "|y|1", "o1 |b|1"} {
		if !slices.Contains(got, want) {
			t.Errorf("row %s missing from %v", want, got)
		}
	}
}

// sameKeys reports whether the ids, null read as "(null)", group as the
// sorted order wants: blanks and nulls first, then o1, o2, o3.
func sameKeys(keys []string) bool {
	want := []string{"", "", "o1", "o1", "o1", "o2", "o2", "o3"}
	for i, k := range keys {
		if k == "(null)" {
			k = ""
		}
		if k != want[i] {
			return false
		}
	}
	return true
}

// TestSortItemsIgnoresArrival feeds the same item rows — several of one
// order, bad ones without an id among them, two differing only in a
// float's sign of zero — as the streams might deliver them on different
// runs, and finds the same rows in the same order each time: ties on the
// order id break on every column, so nothing downstream (the order of
// quarantined rows, the order an order's lines are added in) sees the
// arrival order.
func TestSortItemsIgnoresArrival(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	sc := arrow.NewSchema([]arrow.Field{
		{Name: "order_id", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "sku", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "quantity", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "unit_price", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	}, nil)
	rows := [][4]string{
		{"o1", "b", "1", "2.5"}, {"null", "x", "1", "1"}, {" o1", "c", "null", "1"}, {"", "y", "1", "1"},
		{"o1", "a", "2", "0"}, {"o1", "a", "2", "-0"}, {"o1", "a", "null", "0"}, {"null", "null", "1", "1"},
		{"o1 ", "b", "1", "1"}, {"o2", "a", "3", "NaN"}, {"o2", "a", "3", "1"}, {"", "y", "2", "1"},
	}
	batch := func(rows [][4]string) arrow.Record {
		b := array.NewRecordBuilder(mem, sc)
		defer b.Release()
		for _, r := range rows {
			for i, v := range r {
				if v == "null" {
					b.Field(i).AppendNull()
				} else if err := b.Field(i).AppendValueFromString(v); err != nil {
					t.Fatal(err)
				}
			}
		}
		return b.NewRecord()
	}
	sorted := func(arrival [][][4]string) []string {
		var recs []arrow.Record
		for _, part := range arrival {
			recs = append(recs, batch(part))
		}
		defer func() {
			for _, r := range recs {
				r.Release()
			}
		}()
		var got []string
		err := sortItems(context.Background(), mem, recs, func(rec arrow.Record) error {
			for i := 0; i < int(rec.NumRows()); i++ {
				var cells []string
				for c := range int(rec.NumCols()) {
					cells = append(cells, rec.Column(c).ValueStr(i))
				}
				got = append(got, strings.Join(cells, "|"))
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	want := []string{
		"(null)|(null)|1|1", "(null)|x|1|1", "|y|1|1", "|y|2|1",
		" o1|c|(null)|1", "o1|a|(null)|0", "o1|a|2|0", "o1|a|2|-0", "o1|b|1|2.5", "o1 |b|1|1",
		"o2|a|3|NaN", "o2|a|3|1",
	}
	reversed := slices.Clone(rows)
	slices.Reverse(reversed)
	for name, arrival := range map[string][][][4]string{
		"one batch": {rows},
		"reversed":  {reversed},
		"three streams, interleaved": {
			{rows[11], rows[8], rows[5], rows[2]},
			{rows[0], rows[3], rows[6], rows[9]},
			{rows[10], rows[7], rows[4], rows[1]},
		},
	} {
		if got := sorted(arrival); !slices.Equal(got, want) {
			t.Errorf("%s:\n got %q\nwant %q", name, got, want)
		}
	}
}
