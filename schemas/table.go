// Package schemas holds the Arrow schema of every table retain reads or writes.
// It is the single source of truth: stages build their records from it, the
// load stage checks written files against it and `retain schema` prints it.
package schemas

import (
	"fmt"

	"github.com/apache/arrow/go/v15/arrow"
)

// DescriptionKey is the field-metadata key that carries a column's description
// into Arrow schemas and, through pqarrow's stored schema, into Parquet files.
const DescriptionKey = "description"

// Column describes one column: its name, Arrow type, nullability and meaning.
type Column struct {
	Name     string
	Type     arrow.DataType
	Nullable bool
	Doc      string
}

// Table describes one table: what a row is (Grain), what it is for (Doc) and its columns.
type Table struct {
	Name    string
	Doc     string
	Grain   string
	Columns []Column
}

// Schema returns the Arrow schema of the table, with each column's description
// as field metadata.
func (t Table) Schema() *arrow.Schema {
	return t.schemaOf(t.Columns, func(c Column) string { return c.Doc })
}

func (t Table) schemaOf(cols []Column, doc func(Column) string) *arrow.Schema {
	fields := make([]arrow.Field, len(cols))
	for i, c := range cols {
		fields[i] = arrow.Field{
			Name:     c.Name,
			Type:     c.Type,
			Nullable: c.Nullable,
			Metadata: arrow.NewMetadata([]string{DescriptionKey}, []string{doc(c)}),
		}
	}
	md := arrow.NewMetadata([]string{"table"}, []string{t.Name})
	return arrow.NewSchema(fields, &md)
}

// Index returns the position of the named column, or an error naming the table.
func (t Table) Index(name string) (int, error) {
	for i, c := range t.Columns {
		if c.Name == name {
			return i, nil
		}
	}
	return -1, fmt.Errorf("table %s has no column %q", t.Name, name)
}

// MustIndex is Index for column names fixed in code, where a miss is a programming error.
func (t Table) MustIndex(name string) int {
	i, err := t.Index(name)
	if err != nil {
		panic(err)
	}
	return i
}

// Timestamp is the type of every `<event>_at` column: microseconds, UTC, so
// Parquet stores TIMESTAMP(MICROS, isAdjustedToUTC=true) that BI tools read as instants.
var Timestamp = &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}

// snapshotDate is the first column of every output table: the run date the row describes.
var snapshotDate = Column{PartitionColumn, arrow.FixedWidthTypes.Date32, false,
	"Run date (the logical date of the nightly run, in the job's time zone) this row was computed for; the partition key, " +
		"which files hold in their folder name snapshot_date=YYYY-MM-DD (hive partitioning) rather than as a column, and BigQuery tables as their partition column."}
