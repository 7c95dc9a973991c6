package validate_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/rs/zerolog"

	"retain/config"
	"retain/engine"
	"retain/engine/enginetest"
	"retain/night"
	"retain/stages/internal/stagetest"
	"retain/stages/validate"
	"retain/stages/validate/validateconfig"
)

// ordersJob is a job that reads orders and nothing else.
const ordersJob = "name: t\ninput: {orders: {path: orders.csv}}\n"

// newValidator builds the stage for a run of job (YAML, with the files it
// names in dir). The caller closes the stage before checking mem.
func newValidator(t *testing.T, mem memory.Allocator, dir, job string) (engine.Stage, *night.Context) {
	t.Helper()
	j, err := config.Decode([]byte(job), dir, []config.Section{night.InputSection, validateconfig.Section})
	if err != nil {
		t.Fatal(err)
	}
	reg := &night.Registry{}
	if err := validate.Register(reg, csvSideInput); err != nil {
		t.Fatal(err)
	}
	rc, err := night.New(j, "t", stagetest.DefaultRunDate, mem, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	st, err := reg.Specs()[0].New(context.Background(), rc)
	if err != nil {
		t.Fatal(err)
	}
	return st, rc
}

// textOut keeps what the stage emits as text, batch by batch, so records
// can be released as they come: each row its cells joined by commas,
// named by their column when named is set, null as "null", the columns in
// skip left out.
type textOut struct {
	enginetest.Unused
	named   bool
	skip    []string
	batches []textBatch
}

type textBatch struct {
	table string
	rows  []string
}

func (o *textOut) Emit(_ context.Context, table string, rec arrow.Record) error {
	b := textBatch{table: table}
	for i := range int(rec.NumRows()) {
		var cells []string
		for k, f := range rec.Schema().Fields() {
			if slices.Contains(o.skip, f.Name) {
				continue
			}
			v := "null"
			if !rec.Column(k).IsNull(i) {
				v = rec.Column(k).ValueStr(i)
			}
			if o.named {
				v = f.Name + "=" + v
			}
			cells = append(cells, v)
		}
		b.rows = append(b.rows, strings.Join(cells, ","))
	}
	o.batches = append(o.batches, b)
	return nil
}

// lines are each table's rows in the order emitted.
func (o *textOut) lines() map[string][]string {
	out := map[string][]string{}
	for _, b := range o.batches {
		out[b.table] = append(out[b.table], b.rows...)
	}
	return out
}

// batchLines are the batches as "table: row|row", so batch boundaries
// count in a comparison too.
func (o *textOut) batchLines() []string {
	var out []string
	for _, b := range o.batches {
		out = append(out, b.table+": "+strings.Join(b.rows, "|"))
	}
	return out
}
