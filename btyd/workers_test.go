package btyd

import (
	"errors"
	"strings"
	"testing"
)

// TestGroupRaisesAWorkerPanicOnWait: a panic on one of parallel's or
// sumChunks' goroutines comes out of the call, on the caller's goroutine,
// where it can be recovered, with the worker's own stack; the others run
// to the end first.
func TestGroupRaisesAWorkerPanicOnWait(t *testing.T) {
	for _, tt := range []struct {
		name string
		run  func()
	}{
		{"parallel", func() {
			parallel(100, func(i int) {
				if i == 77 {
					panic(errors.New("row 77"))
				}
			})
		}},
		{"sumChunks", func() {
			sumChunks(2*serialSumRows, func(lo, hi int) [5]float64 {
				if lo > 0 && lo < serialSumRows { // three of the eight chunks
					panic(errors.New("row 77"))
				}
				return [5]float64{float64(hi - lo)}
			})
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var got any
			func() {
				defer func() { got = recover() }()
				tt.run()
			}()
			p, ok := got.(*WorkerPanic)
			switch {
			case !ok:
				t.Fatalf("recovered %v (%T), want a *WorkerPanic", got, got)
			case p.String() != "row 77":
				t.Errorf("message %q, want the worker's own", p.String())
			case !strings.Contains(string(p.PanicStack()), "workers_test.go"):
				t.Errorf("the stack is not the worker's:\n%s", p.PanicStack())
			}
		})
	}
}
