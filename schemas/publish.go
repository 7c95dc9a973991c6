package schemas

import (
	"slices"
	"strings"

	"github.com/apache/arrow/go/v15/arrow"
)

// PartitionColumn is the partition key of every written table, the first
// column of each. Stages emit it and warehouse tables hold it as their
// partition column, but the files do not: the key is the folder name
// <table>/snapshot_date=YYYY-MM-DD/, the hive layout Spark and Hive write
// and pyarrow datasets, pandas, BigQuery external tables, Athena, DuckDB
// and Polars read. pyarrow, pandas and BigQuery reject a file column that
// is also the folder's key.
const PartitionColumn = "snapshot_date"

// CurrencyColumn is the column naming the currency of a table's money
// columns; published tables with money columns end with it. Stages do not
// emit it: the load stage adds the night's currency when writing.
var CurrencyColumn = Column{"currency", arrow.BinaryTypes.String, true,
	"ISO 4217 code of the currency every money column of this table is in: input.reporting_currency, or else the one currency the orders carry; " +
		"null when neither names an ISO currency. Money columns are rounded to its minor unit (JPY 0 decimals, USD 2, KWD 3; 2 when null), halves away from zero."}

// moneyColumns lists, per table, the columns that hold amounts of money:
// revenue, order values and their averages, historical and predicted CLV
// and its bounds, spend. They are rounded to the minor unit of the table's
// currency when published, and a table with any has a CurrencyColumn.
// Shares, rates, counts, days and model parameters are not money. A test
// holds this list and the columns documented "In the reporting currency"
// to each other.
var moneyColumns = map[string][]string{
	"customer_summary": {"total_revenue", "avg_order_value", "refunded_revenue", "net_revenue", "repeat_avg_value"},
	"customer_segments": {"total_revenue", "avg_order_value", "refunded_revenue", "net_revenue", "repeat_avg_value",
		"historical_clv", "net_historical_clv", "expected_avg_order_value", "predicted_clv", "predicted_clv_low",
		"predicted_clv_high", "predicted_clv_margin", "previous_predicted_clv", "predicted_clv_change", "spend_to_next_tier"},
	"segment_summary":     {"revenue", "net_revenue", "avg_order_value", "avg_historical_clv"},
	"segment_transitions": {"revenue", "predicted_clv", "previous_predicted_clv"},
	"cohort_retention":    {"revenue", "cumulative_revenue_per_customer"},
	"retention_kpis":      {"revenue", "net_revenue", "avg_order_value", "retention_spend", "retention_cost_per_customer"},
}

// moneyNote ends the published description of a money column, in place
// of the docs' "In the reporting currency."
const (
	moneyNote      = " Money: in the reporting currency, whose code is in `currency`, rounded to its minor unit."
	reportingMoney = " In the reporting currency."
)

// Money lists t's money columns, in table order.
func (t Table) Money() []string {
	var m []string
	for _, c := range t.Columns {
		if t.IsMoney(c.Name) {
			m = append(m, c.Name)
		}
	}
	return m
}

// IsMoney reports whether t's column name holds money.
func (t Table) IsMoney(name string) bool { return slices.Contains(moneyColumns[t.Name], name) }

// HasMoney reports whether t has money columns, and so a CurrencyColumn.
func (t Table) HasMoney() bool { return len(moneyColumns[t.Name]) > 0 }

// PartitionKey is the column of t that is its partition key, PartitionColumn
// for every table that has it (the written ones), empty for the others.
func (t Table) PartitionKey() string {
	if slices.ContainsFunc(t.Columns, func(c Column) bool { return c.Name == PartitionColumn }) {
		return PartitionColumn
	}
	return ""
}

// Describe is the published description of t's column c: its doc and, for
// money, where the currency is.
func (t Table) Describe(c Column) string {
	if t.IsMoney(c.Name) {
		return strings.Replace(c.Doc, reportingMoney, "", 1) + moneyNote
	}
	return c.Doc
}

// PublishedColumns are the columns readers of the table see: Columns and,
// when the table holds money, CurrencyColumn last. A warehouse table holds
// them all, the partition key as its partition column.
func (t Table) PublishedColumns() []Column {
	cols := append([]Column(nil), t.Columns...)
	if t.HasMoney() {
		cols = append(cols, CurrencyColumn)
	}
	return cols
}

// FileColumns are the columns of the table's Parquet files:
// PublishedColumns without the partition key, which is in the path.
func (t Table) FileColumns() []Column {
	key := t.PartitionKey()
	return slices.DeleteFunc(t.PublishedColumns(), func(c Column) bool { return key != "" && c.Name == key })
}

// FileSchema is the Arrow schema of the table's Parquet files, with each
// column's published description as field metadata.
func (t Table) FileSchema() *arrow.Schema { return t.schemaOf(t.FileColumns(), t.Describe) }
