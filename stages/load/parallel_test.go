package load

import (
	"bytes"
	"context"
	"fmt"
	"runtime"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/rs/zerolog"
	"retain/config"
	"retain/engine/enginetest"
	"retain/night"
	"retain/schemas"
	"retain/stages/clv/clvconfig"
)

// hostileTypes says whether hostileBatches can fill every column of t.
func hostileTypes(t schemas.Table) bool {
	for _, f := range t.Schema().Fields() {
		switch f.Type.ID() {
		case arrow.STRING, arrow.INT64, arrow.FLOAT64, arrow.BOOL, arrow.DATE32, arrow.TIMESTAMP:
		default:
			return false
		}
	}
	return true
}

// TestFilesIndependentOfCores: the load stage, whose tables complete their
// files at once, writes every table's file with the bytes that writing
// the tables one after another through the plain writer gives, with one
// core or two, and whether each file is completed when its table is
// (TableDone) or at Finish. Three tables get rows (customer_summary over more than one
// row group's worth of batches), the rest are written empty.
func TestFilesIndependentOfCores(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	j, err := config.Decode([]byte("name: t\n"), t.TempDir(), []config.Section{night.OutputSection, clvconfig.Section})
	if err != nil {
		t.Fatal(err)
	}
	rc, err := night.New(j, "test", "2026-11-30", mem, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	tables := schemas.OutputsFor(clvconfig.Layout(j))
	input := map[string][]arrow.Record{}
	defer func() {
		for _, recs := range input {
			for _, rec := range recs {
				rec.Release()
			}
		}
	}()
	for _, tb := range tables {
		switch {
		case tb.Name == schemas.CustomerSummary.Name:
			input[tb.Name] = hostileBatches(mem, tb.Schema(), 270_000)
		case len(input) < 3 && hostileTypes(tb):
			input[tb.Name] = hostileBatches(mem, tb.Schema(), 20_000)
		}
	}
	if len(input) != 3 {
		t.Fatalf("%d tables with rows, want 3", len(input))
	}

	// Each table alone, in turn, as the file the stage should write.
	want := map[string][]byte{}
	for _, tb := range tables {
		pub := newPublisher(tb, rc.Currency(), mem)
		var recs []arrow.Record
		for _, rec := range input[tb.Name] {
			p, err := pub.record(rec)
			if err != nil {
				t.Fatal(err)
			}
			recs = append(recs, p)
		}
		want[tb.Name] = writeFile(t, tb.FileSchema(), recs, nil, mem)
		for _, rec := range recs {
			rec.Release()
		}
	}

	cases := []struct {
		procs int
		// early: every table is declared complete (TableDone) once its
		// batches are in, before Finish, as the runner does when its
		// producers finish.
		early bool
	}{{1, false}, {2, false}, {1, true}, {2, true}}
	for _, tc := range cases {
		procs := tc.procs
		t.Run(fmt.Sprintf("GOMAXPROCS=%d/early=%v", procs, tc.early), func(t *testing.T) {
			defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
			ctx := context.Background()
			out := enginetest.NewEmitter()
			l := &loader{rc: rc, writers: map[string]*tableWriter{}}
			// The tables' batches interleave, as the stages emit them.
			for i := 0; ; i++ {
				more := false
				for _, tb := range tables {
					if recs := input[tb.Name]; i < len(recs) {
						more = true
						if err := l.Process(ctx, tb.Name, recs[i], out); err != nil {
							t.Fatal(err)
						}
					}
				}
				if !more {
					break
				}
			}
			if tc.early {
				for _, tb := range tables {
					if err := l.TableDone(ctx, tb.Name, out); err != nil {
						t.Fatal(err)
					}
				}
			}
			if err := l.Finish(ctx, out); err != nil {
				t.Fatal(err)
			}
			if err := l.Close(ctx); err != nil {
				t.Fatal(err)
			}
			if len(out.Files) != len(tables) {
				t.Errorf("%d files, want one per table (%d)", len(out.Files), len(tables))
			}
			for _, tb := range tables {
				got := out.Files[tb.Name+"/"+PartName]
				if got == nil || !bytes.Equal(got.Bytes(), want[tb.Name]) {
					t.Errorf("%s: the file differs from the table written alone", tb.Name)
				}
			}
		})
	}
}
