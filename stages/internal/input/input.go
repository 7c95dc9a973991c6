// Package input is what every reader of the job's inputs shares with the
// stages after it, so that validation and product affinity cannot tell a
// file from a warehouse table: the provenance each raw batch carries, the
// batch size, the source types a canonical column may have, and the error
// for an input that breaks that contract. The file readers live in the
// extract stage; the BigQuery reader plugs into it as a Warehouse.
package input

import (
	"context"
	"slices"
	"strconv"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"retain/engine"
	"retain/night"
	"retain/schemas"
	"retain/stages/internal/quarantine"
)

// Metadata keys on every raw batch, so later stages can point at the exact
// input row.
const (
	MetaSourceFile = "source_file"
	MetaFirstRow   = "first_row"
)

// SharedOrderID is the trailing BOOLEAN column every raw orders batch
// carries: true when another row of the whole input has the same trimmed,
// non-blank order id. Validation can then hold exactly the rows whose
// fate depends on other rows and judge them once the input ends, so no
// reader has to deliver rows in any order; without it, validation fails
// rather than judge duplicates by arrival.
const SharedOrderID = "_shared_order_id"

// Columns a warehouse that settles duplicates and folds used orders itself
// (BigQuery pushdown) may add to a raw orders batch, both BOOLEAN. A row
// with LostDuplicate true passed every check and lost its order id to
// another row by rule R1 (the README's "Duplicate order ids"), which the
// warehouse applied to every row of the id: validation quarantines it as a
// duplicate without seeing the winner. A row with FoldedOrder true is the
// winner of its id, a used order the warehouse has already counted and
// folded, sent only because a refund may name it: validation remembers it
// to match refunds (and files a refund status's full refund) but neither
// counts it nor emits it as an order. Absent columns are all false.
const (
	LostDuplicate = "_lost_duplicate"
	FoldedOrder   = "_folded_order"
)

// NoRow is the first row of a batch whose rows have no position in their
// source: a warehouse table has no row order, so its rows' source_row in
// quarantine is NULL. Positions otherwise count from 1 (0 in stage test
// cases, which feed batches untagged).
const NoRow = quarantine.NoRow

// RowOf is the position of row i of a batch whose first row is firstRow:
// NoRow for every row of a batch without positions.
func RowOf(firstRow int64, i int) int64 {
	if firstRow == NoRow {
		return NoRow
	}
	return firstRow + int64(i)
}

// BatchRows is the number of rows per raw batch a reader emits; it bounds
// what one batch holds in memory while it flows through the stages.
const BatchRows = 64 * 1024

// Warehouse builds the stage that reads input.orders from a warehouse table
// instead of files. It must emit batches the way the file reader does (see
// EmitOrders), so validation and everything after it cannot tell the
// difference.
type Warehouse func(ctx context.Context, rc *night.Context) (engine.Stage, error)

// SideInput reads a small side input whole (such as FX rates) with the
// checks orders get, handing each batch to visit. Its errors, visit's
// included, name the input (input.fx_rates) and the file being read, so
// the caller adds neither. The extract stage holds the file readers and
// provides it (extract.SideInputs, which hands BigQuery tables to the
// warehouse reader); a stage that needs a side input is given
// one when it is registered, so stages never import each other.
type SideInput func(ctx context.Context, rc *night.Context, src *night.Source, t schemas.Table, required []string, visit func(arrow.Record) error) error

// EmitOrders emits a batch of raw order rows whose columns already carry
// canonical names (and SharedOrderID last), tagged with where its first row
// came from (source and 1-based row number, or NoRow), and counts its rows
// as read.
func EmitOrders(ctx context.Context, rc *night.Context, out engine.Emitter, rec arrow.Record, source string, firstRow int64) error {
	rc.Rows.Read += rec.NumRows()
	return Emit(ctx, out, schemas.RawOrders, rec, source, firstRow)
}

// Emit emits rec as table, tagged with where its first row came from, as
// SourceOf reads it back.
func Emit(ctx context.Context, out engine.Emitter, table string, rec arrow.Record, source string, firstRow int64) error {
	tagged := Tag(rec, source, firstRow)
	defer tagged.Release()
	return out.Emit(ctx, table, tagged)
}

// Tag returns rec tagged with where its first row came from, as SourceOf
// reads it back; the caller releases it.
func Tag(rec arrow.Record, source string, firstRow int64) arrow.Record {
	keys, values := []string{MetaSourceFile, MetaFirstRow}, []string{source, strconv.FormatInt(firstRow, 10)}
	if kind := AggregateOf(rec); kind != "" {
		keys, values = append(keys, MetaAggregate), append(values, kind)
	}
	if n, ok := OrderIDsOf(rec); ok {
		keys, values = append(keys, MetaOrderIDs), append(values, strconv.Itoa(n))
	}
	md := arrow.NewMetadata(keys, values)
	return array.NewRecord(arrow.NewSchema(rec.Schema().Fields(), &md), rec.Columns(), rec.NumRows())
}

// MetaOrderIDs, on a raw orders batch, is how many distinct order ids
// (trimmed, non-blank) the whole input has, when its reader counted them
// before the first row: validation sizes its order-id set from it instead
// of regrowing a table of millions on the way. A hint only: the set takes
// any number of ids whatever it says.
const MetaOrderIDs = "order_ids"

// WithOrderIDs returns rec tagged with n, the input's distinct order ids
// (see MetaOrderIDs), keeping its other tags; the caller releases it.
func WithOrderIDs(rec arrow.Record, n int) arrow.Record {
	md := rec.Schema().Metadata()
	keys, values := slices.Clone(md.Keys()), slices.Clone(md.Values())
	if i := md.FindKey(MetaOrderIDs); i >= 0 {
		values[i] = strconv.Itoa(n)
	} else {
		keys, values = append(keys, MetaOrderIDs), append(values, strconv.Itoa(n))
	}
	tagged := arrow.NewMetadata(keys, values)
	return array.NewRecord(arrow.NewSchema(rec.Schema().Fields(), &tagged), rec.Columns(), rec.NumRows())
}

// OrderIDsOf returns the distinct order ids a raw orders batch says its
// input has (see MetaOrderIDs), and whether it says.
func OrderIDsOf(rec arrow.Record) (int, bool) {
	md := rec.Schema().Metadata()
	if i := md.FindKey(MetaOrderIDs); i >= 0 {
		if n, err := strconv.Atoi(md.Values()[i]); err == nil && n >= 0 {
			return n, true
		}
	}
	return 0, false
}

// SourceOf returns where a raw batch came from: the source (file path or
// table) and the 1-based row number of its first row, NoRow for a batch
// whose rows have no position.
func SourceOf(rec arrow.Record) (source string, firstRow int64) {
	md := rec.Schema().Metadata()
	if i := md.FindKey(MetaSourceFile); i >= 0 {
		source = md.Values()[i]
	}
	if i := md.FindKey(MetaFirstRow); i >= 0 {
		firstRow, _ = strconv.ParseInt(md.Values()[i], 10, 64)
	}
	return source, firstRow
}
