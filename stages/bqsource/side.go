package bqsource

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"strings"

	"cloud.google.com/go/bigquery"
	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/compute"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"retain/night"
	"retain/schemas"
	"retain/stages/internal/input"
	"retain/stages/internal/rules"
	"retain/warehouse/bqclient"
)

// PlanTable builds the read of a side input (order items, FX rates) from
// its BigQuery table with schema: every mapped column renamed to its
// canonical name, every row, no order. A side input is read whole, as its
// files are, so nothing is filtered by date.
func PlanTable(src *night.Source, t schemas.Table, required []string, schema bigquery.Schema) (*Query, error) {
	ref := src.BigQuery.Ref()
	from, err := ref.Quoted()
	if err != nil {
		return nil, err
	}
	cols, err := mapColumns(src, t, required, schema)
	if err != nil {
		return nil, err
	}
	q := &Query{Name: t.Name, Table: ref.String(), types: map[string]bigquery.FieldType{}}
	var sel []string
	for _, c := range cols {
		sel = append(sel, c.quoted+" AS "+c.alias)
		q.names = append(q.names, c.alias)
		q.Columns = append(q.Columns, c.canonical)
		q.types[c.canonical] = c.typ
	}
	q.SQL = "SELECT " + strings.Join(sel, ", ") + " FROM " + from
	return q, nil
}

// ReadTable returns the input.SideInput that reads a side input from its
// BigQuery table through the Storage Read API, with the column checks a
// file gets. Its batches carry the table as source_file and no row
// positions (input.NoRow). Order items come sorted by their trimmed order
// id (see sortItems), and with pushdown only the rows affinity must judge,
// then the counts of the others (see ItemsPushdown); other inputs in the
// order the streams deliver them.
// Every error it returns names the input. rates reads input.fx_rates'
// files for the orders' rows the items pushdown judges, as New's.
func ReadTable(opts bqclient.Options, rates rules.FileRates) input.SideInput {
	return func(ctx context.Context, rc *night.Context, src *night.Source, t schemas.Table, required []string, visit func(arrow.Record) error) error {
		if err := readTable(ctx, rc, opts, rates, src, t, required, visit); err != nil {
			return fmt.Errorf("input.%s: %w", t.Name, err)
		}
		return nil
	}
}

func readTable(ctx context.Context, rc *night.Context, opts bqclient.Options, rates rules.FileRates, src *night.Source, t schemas.Table, required []string, visit func(arrow.Record) error) error {
	cfg := src.BigQuery
	c, err := bqclient.OpenStorage(ctx, bqclient.Connection{Project: cfg.Project, Location: cfg.Location, CredentialsFile: cfg.CredentialsFile}, opts)
	if err != nil {
		return err
	}
	defer c.Close()
	s := &session{rc: rc, cfg: cfg, client: c, opts: opts}
	md, err := s.metadata(ctx)
	if err != nil {
		return err
	}
	source := "bigquery://" + cfg.Ref().String()
	tagged := func(rec arrow.Record) error {
		rec = input.Tag(rec, source, input.NoRow)
		defer rec.Release()
		return visit(rec)
	}
	if t.Name == schemas.OrderItems.Name && PushesItems(rc) {
		p, err := s.planItemsPushdown(ctx, md.Schema, rates)
		if err != nil {
			return err
		}
		return s.readItemsPushdown(ctx, rc, p, tagged)
	}
	q, err := PlanTable(src, t, required, md.Schema)
	if err != nil {
		return err
	}
	if t.Name != schemas.OrderItems.Name {
		return s.read(ctx, q, tagged)
	}
	var recs []arrow.Record
	defer func() {
		for _, r := range recs {
			r.Release()
		}
	}()
	err = s.read(ctx, q, func(rec arrow.Record) error {
		rec.Retain()
		recs = append(recs, rec)
		return nil
	})
	if err != nil {
		return err
	}
	return sortItems(ctx, rc.Mem, recs, tagged)
}

// planItemsPushdown plans the items pushdown read for an items table with
// schema, reading the orders' and FX rates' schemas as the orders reader
// does, so both plan the orders' rows alike.
func (s *session) planItemsPushdown(ctx context.Context, schema bigquery.Schema, rates rules.FileRates) (*ItemsPushdown, error) {
	md, err := s.tableMetadata(ctx, night.InputOf(s.rc.Job).Orders.BigQuery.Ref())
	if err != nil {
		return nil, fmt.Errorf("input.orders: %w", err)
	}
	fxSchema, err := s.fxSchema(ctx)
	if err != nil {
		return nil, err
	}
	orders, err := PlanPushdown(s.rc, md.Schema, fxSchema)
	if err != nil {
		return nil, err
	}
	if err := orders.BindFileRates(ctx, s.rc, rates); err != nil {
		return nil, err
	}
	return PlanItemsPushdown(s.rc, orders, schema)
}

// sortItems hands the item rows of recs to visit sorted by trimmed order
// id, in batches of input.BatchRows. Product affinity collects an order's
// items while they arrive together (up to affinity.open_orders orders at
// once) and leaves out later items of an order already counted; a table's
// rows come in no order, over several streams, so without the sort an
// order's items would be scattered and some left out, differently on each
// run. Sorted, every order's items come together, as in an export sorted
// by order. Rows of one order are sorted by their columns' values, in
// schema order, as a last tie-break: affinity's products form a set, but
// which of two item rows comes first decides the order of quarantined
// rows and the order the margin stage adds an order's lines in, and the
// streams deliver the rows in a different order on every run.
func sortItems(ctx context.Context, mem memory.Allocator, recs []arrow.Record, visit func(arrow.Record) error) error {
	if len(recs) == 0 {
		return nil
	}
	type ref struct {
		key string
		at  int64
	}
	var rows []ref
	var at int64
	for _, rec := range recs {
		col := rec.Column(rec.Schema().FieldIndices("order_id")[0])
		for i := 0; i < int(rec.NumRows()); i++ {
			var key string
			if !col.IsNull(i) {
				key = strings.TrimSpace(col.ValueStr(i))
			}
			rows = append(rows, ref{key, at + int64(i)})
		}
		at += rec.NumRows()
	}
	sc := recs[0].Schema()
	whole := make([]arrow.Array, sc.NumFields())
	defer func() {
		for _, a := range whole {
			if a != nil {
				a.Release()
			}
		}
	}()
	for c := range whole {
		parts := make([]arrow.Array, len(recs))
		for i, rec := range recs {
			parts[i] = rec.Column(c)
		}
		a, err := array.Concatenate(parts, mem)
		if err != nil {
			return err
		}
		whole[c] = a
	}
	slices.SortFunc(rows, func(a, b ref) int {
		if c := cmp.Compare(a.key, b.key); c != 0 {
			return c
		}
		for _, col := range whole {
			if c := compareCells(col, int(a.at), int(b.at)); c != 0 {
				return c
			}
		}
		return 0
	})
	ctx = compute.WithAllocator(ctx, mem)
	for from := 0; from < len(rows); from += input.BatchRows {
		n := min(input.BatchRows, len(rows)-from)
		ib := array.NewInt64Builder(mem)
		for _, r := range rows[from : from+n] {
			ib.Append(r.at)
		}
		idx := ib.NewInt64Array()
		ib.Release()
		cols := make([]arrow.Array, len(whole))
		err := func() error {
			defer idx.Release()
			for c, a := range whole {
				taken, err := compute.TakeArray(ctx, a, idx)
				if err != nil {
					return err
				}
				cols[c] = taken
			}
			return nil
		}()
		if err == nil {
			rec := array.NewRecord(sc, cols, int64(n))
			err = visit(rec)
			rec.Release()
		}
		for _, a := range cols {
			if a != nil {
				a.Release()
			}
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// compareCells orders rows i and j of a column: null first, then by value
// (NaN before every number, as cmp.Compare has it), so rows equal in every
// column are the only ties, and those are interchangeable.
func compareCells(a arrow.Array, i, j int) int {
	switch ni, nj := a.IsNull(i), a.IsNull(j); {
	case ni && nj:
		return 0
	case ni:
		return -1
	case nj:
		return 1
	}
	switch a := a.(type) {
	case *array.String:
		return strings.Compare(a.Value(i), a.Value(j))
	case *array.Int64:
		return cmp.Compare(a.Value(i), a.Value(j))
	case *array.Float64:
		if c := cmp.Compare(a.Value(i), a.Value(j)); c != 0 {
			return c
		}
		// -0 and 0 compare equal but are written differently.
		return cmp.Compare(math.Float64bits(a.Value(i)), math.Float64bits(a.Value(j)))
	case *array.Boolean:
		return cmp.Compare(b2i(a.Value(i)), b2i(a.Value(j)))
	}
	return strings.Compare(a.ValueStr(i), a.ValueStr(j))
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
