package margin_test

import (
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"

	"retain/schemas"
	"retain/stages/internal/fingerprint"
	"retain/stages/internal/handover"
	"retain/stages/internal/stagetest"
	"retain/stages/margin"
)

// rawItems is order_items_raw as the extract stage emits a CSV file: every
// canonical column as text, nullable.
func rawItems() *arrow.Schema {
	fields := make([]arrow.Field, len(schemas.OrderItems.Columns))
	for i, c := range schemas.OrderItems.Columns {
		fields[i] = arrow.Field{Name: c.Name, Type: arrow.BinaryTypes.String, Nullable: true}
	}
	return arrow.NewSchema(fields, nil)
}

// orderCustomers stands in for validation's set: the rows of
// in/order_customers.csv are the used orders, with their customer and
// exchange rate.
type orderCustomers map[string]handover.OrderCustomer

func (o orderCustomers) Customers(ids []string, got []handover.OrderCustomer) {
	for i, id := range ids {
		got[i] = o[id]
	}
}

// readOrderCustomers reads in/order_customers.csv: a header order_id,
// customer_id, rate, then one used order a line. Without the file nothing
// is handed over, as validation does without margin.item_costs.
func readOrderCustomers(caseDir string) (map[string]any, error) {
	f, err := os.Open(filepath.Join(caseDir, "in", "order_customers.csv"))
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		return nil, err
	}
	if len(rows) == 0 || fmt.Sprint(rows[0]) != "[order_id customer_id rate]" {
		return nil, fmt.Errorf("order_customers.csv: want a header order_id,customer_id,rate")
	}
	o := orderCustomers{}
	for _, r := range rows[1:] {
		rate, err := strconv.ParseFloat(r[2], 64)
		if err != nil {
			return nil, fmt.Errorf("order_customers.csv: %w", err)
		}
		o[r[0]] = handover.OrderCustomer{Used: true, Customer: fingerprint.Key(r[1]), Rate: rate}
	}
	return map[string]any{handover.OrderCustomers.String(): handover.CustomerLookup(o)}, nil
}

// TestStage runs the cases under testdata/, in batches of three item rows
// so an order's lines cross batches.
func TestStage(t *testing.T) {
	stagetest.Run(t, stagetest.Config{
		Register:      margin.Register,
		Schemas:       map[string]*arrow.Schema{schemas.RawItems: rawItems()},
		BatchRows:     3,
		Handovers:     readOrderCustomers,
		HandoverFiles: []string{"order_customers.csv"},
	})
}
