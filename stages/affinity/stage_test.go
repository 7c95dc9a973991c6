package affinity_test

import (
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"

	"retain/schemas"
	"retain/stages/affinity"
	"retain/stages/internal/handover"
	"retain/stages/internal/stagetest"
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

// usedOrders stands in for validation's set: the ids of in/used_orders.csv
// are the used orders, and each is claimed by the first lookup that finds
// it, as handover.OrderLookup describes.
type usedOrders struct {
	claimed map[string]bool
}

func (u *usedOrders) Claim(ids []string, used, claimed []bool) {
	for i, id := range ids {
		c, ok := u.claimed[id]
		used[i], claimed[i] = ok, ok && c
		if ok {
			u.claimed[id] = true
		}
	}
}

// readUsedOrders reads in/used_orders.csv: a header order_id, then one id
// a line.
func readUsedOrders(caseDir string) (map[string]any, error) {
	f, err := os.Open(filepath.Join(caseDir, "in", "used_orders.csv"))
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
	if len(rows) == 0 || len(rows[0]) != 1 || rows[0][0] != "order_id" {
		return nil, fmt.Errorf("used_orders.csv: want a header order_id, then one id a line")
	}
	u := &usedOrders{claimed: map[string]bool{}}
	for _, r := range rows[1:] {
		u.claimed[r[0]] = false
	}
	return map[string]any{handover.UsedOrders.String(): handover.OrderLookup(u)}, nil
}

// TestStage runs the cases under testdata/. Batches of four item rows
// split orders' items across batches.
func TestStage(t *testing.T) {
	stagetest.Run(t, stagetest.Config{
		Register:      affinity.Register,
		Schemas:       map[string]*arrow.Schema{schemas.RawItems: rawItems()},
		BatchRows:     4,
		Handovers:     readUsedOrders,
		HandoverFiles: []string{"used_orders.csv"},
	})
}
