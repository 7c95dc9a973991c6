package schemas

import (
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
)

// TestPublishedLayout: every written table has snapshot_date first in
// memory and in the warehouse, never in its files, and the currency last
// exactly when it has money.
func TestPublishedLayout(t *testing.T) {
	for _, tbl := range Outputs() {
		if tbl.PartitionKey() != PartitionColumn || tbl.Columns[0].Name != PartitionColumn {
			t.Errorf("%s: partition key %q, first column %s", tbl.Name, tbl.PartitionKey(), tbl.Columns[0].Name)
		}
		file := tbl.FileColumns()
		if slices.ContainsFunc(file, func(c Column) bool { return c.Name == PartitionColumn }) {
			t.Errorf("%s: the files would hold %s", tbl.Name, PartitionColumn)
		}
		pub := tbl.PublishedColumns()
		if len(pub) != len(file)+1 || pub[0].Name != PartitionColumn {
			t.Errorf("%s: published %d columns, files %d", tbl.Name, len(pub), len(file))
		}
		if last := file[len(file)-1].Name == CurrencyColumn.Name; last != tbl.HasMoney() {
			t.Errorf("%s: currency last %v, has money %v", tbl.Name, last, tbl.HasMoney())
		}
		if s := tbl.FileSchema(); s.NumFields() != len(file) {
			t.Errorf("%s: file schema %d fields", tbl.Name, s.NumFields())
		}
	}
	if CustomerPeriods.PartitionKey() != "" || len(CustomerPeriods.FileColumns()) != len(CustomerPeriods.Columns) {
		t.Error("an intermediate table without snapshot_date has no partition key")
	}
}

// TestMoneyColumns holds the money list and the column docs to each other:
// a column documented "In the reporting currency" is money and the other
// way round, and each is a float64 of its table. A money column added to
// schemas/ without its place in moneyColumns fails here.
func TestMoneyColumns(t *testing.T) {
	tables := map[string]Table{}
	for _, tbl := range Outputs() {
		tables[tbl.Name] = tbl
		for _, c := range tbl.Columns {
			documented := strings.Contains(c.Doc, strings.TrimSpace(reportingMoney))
			if documented != tbl.IsMoney(c.Name) {
				t.Errorf("%s.%s: documented in the reporting currency %v, listed as money %v", tbl.Name, c.Name, documented, tbl.IsMoney(c.Name))
			}
			if tbl.IsMoney(c.Name) {
				if c.Type.ID() != arrow.FLOAT64 {
					t.Errorf("%s.%s: money of type %s", tbl.Name, c.Name, c.Type)
				}
				if d := tbl.Describe(c); strings.Contains(d, strings.TrimSpace(reportingMoney)) || !strings.HasSuffix(d, moneyNote) {
					t.Errorf("%s.%s: published description %q", tbl.Name, c.Name, d)
				}
			}
		}
	}
	for name, cols := range moneyColumns {
		tbl, ok := tables[name]
		if !ok {
			t.Errorf("money listed for %s, which is not an output table", name)
			continue
		}
		for _, c := range cols {
			if _, err := tbl.Index(c); err != nil {
				t.Error(err)
			}
		}
	}
	want := []string{"total_revenue", "avg_order_value", "refunded_revenue", "net_revenue", "repeat_avg_value"}
	if got := CustomerSummary.Money(); !slices.Equal(got, want) {
		t.Errorf("customer_summary money %v, want %v", got, want)
	}
	for _, tbl := range []Table{ModelFit, ModelHoldout, ModelTracking, ProductAffinity, Quarantine} {
		if tbl.HasMoney() {
			t.Errorf("%s has no money", tbl.Name)
		}
	}
}
