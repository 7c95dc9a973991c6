package customersummary_test

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"retain/stages/customersummary"
	"retain/stages/internal/stagetest"
)

// TestAnyOrder folds the rows of testdata/ties_any_order shuffled, in
// batches of several sizes, and wants the case's expected files byte for
// byte: ties of the latest order and sums of money do not depend on the
// order rows arrive in, nor on how many workers fold them.
func TestAnyOrder(t *testing.T) {
	const src = "testdata/ties_any_order"
	dir := t.TempDir()
	r := rand.New(rand.NewPCG(15, 16))
	for i := range 8 {
		c := filepath.Join(dir, "shuffle"+string(rune('a'+i)))
		for _, sub := range []string{"in", "expected"} {
			if err := os.MkdirAll(filepath.Join(c, sub), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		for _, name := range []string{"in/orders.csv", "in/refunds.csv"} {
			shuffled(t, r, filepath.Join(src, name), filepath.Join(c, name))
		}
		for _, name := range []string{"expected/customer_summary.csv", "expected/customer_periods.csv"} {
			b, err := os.ReadFile(filepath.Join(src, name))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(c, name), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	eachCores(t, func(t *testing.T) {
		for _, batch := range []int{1, 2, 5} {
			stagetest.Run(t, stagetest.Config{Register: customersummary.Register, BatchRows: batch, Dir: dir})
		}
	})
}

// shuffled copies a CSV file with its rows, but the header, in random order.
func shuffled(t *testing.T, r *rand.Rand, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	rows := lines[1:]
	r.Shuffle(len(rows), func(i, j int) { rows[i], rows[j] = rows[j], rows[i] })
	if err := os.WriteFile(to, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}
