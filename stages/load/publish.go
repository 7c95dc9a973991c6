package load

import (
	"fmt"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"retain/night"
	"retain/schemas"
)

// publisher turns a table's records, as the stages emit them, into the
// records its files hold: without the partition key, which readers take
// from the folder name (hive partitioning), with money rounded to the
// currency's minor unit and the currency named in its own column.
type publisher struct {
	table  schemas.Table
	schema *arrow.Schema // the file schema
	cur    night.Currency
	mem    memory.Allocator
}

func newPublisher(t schemas.Table, cur night.Currency, mem memory.Allocator) *publisher {
	return &publisher{table: t, schema: t.FileSchema(), cur: cur, mem: mem}
}

// record returns rec as the file holds it; the caller releases it.
func (p *publisher) record(rec arrow.Record) (arrow.Record, error) {
	n := int(rec.NumRows())
	cols := make([]arrow.Array, 0, p.schema.NumFields())
	defer func() {
		for _, c := range cols {
			c.Release()
		}
	}()
	for _, f := range p.schema.Fields() {
		if f.Name == schemas.CurrencyColumn.Name && p.table.HasMoney() {
			cols = append(cols, p.currency(n))
			continue
		}
		idx := rec.Schema().FieldIndices(f.Name)
		if len(idx) != 1 {
			return nil, fmt.Errorf("%s: a batch without column %s", p.table.Name, f.Name)
		}
		col := rec.Column(idx[0])
		if !p.table.IsMoney(f.Name) {
			col.Retain()
			cols = append(cols, col)
			continue
		}
		money, ok := col.(*array.Float64)
		if !ok {
			return nil, fmt.Errorf("%s.%s: money column of type %s, want float64", p.table.Name, f.Name, col.DataType())
		}
		cols = append(cols, p.round(money))
	}
	return array.NewRecord(p.schema, cols, int64(n)), nil
}

func (p *publisher) round(a *array.Float64) arrow.Array {
	b := array.NewFloat64Builder(p.mem)
	defer b.Release()
	b.Reserve(a.Len())
	for i, v := range a.Float64Values() {
		if a.IsNull(i) {
			b.UnsafeAppendBoolToBitmap(false)
			continue
		}
		b.UnsafeAppend(p.cur.Round(v))
	}
	return b.NewArray()
}

func (p *publisher) currency(n int) arrow.Array {
	b := array.NewStringBuilder(p.mem)
	defer b.Release()
	if !p.cur.Known() {
		b.AppendNulls(n)
		return b.NewArray()
	}
	b.Reserve(n)
	b.ReserveData(n * len(p.cur.Code))
	for range n {
		b.UnsafeAppend([]byte(p.cur.Code))
	}
	return b.NewArray()
}
