package emulatortest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/bigquery"
	"cloud.google.com/go/civil"
	"github.com/rs/zerolog"
	"google.golang.org/api/iterator"

	"retain/calendar"
	"retain/jobfile"
	"retain/night"
	"retain/stages/bqsource"
)

// TestCellStartSQL evaluates the SQL of the grid's cell rule on a real
// SQL engine for many purchase days and first days, under jobs whose grids
// have each period unit, a cohort period unlike the KPIs' one, chunks shorter than a period, cuts and a daily
// window, and compares it with the rule the local fold applies.
func TestCellStartSQL(t *testing.T) {
	jobs := []string{
		"",
		"kpis: {period: week, churn_days: 3}\nsegments: {change_tracking: false}\n",
		"kpis: {period: quarter, churn_days: 40}\nclv: {holdout_days: 30}\n",
		"kpis: {churn_days: 10}\nactions: {decline_window_days: 400}\n",
		"kpis: {period: week}\ncohorts: {period: quarter}\n",
		"kpis: {period: quarter}\ncohorts: {period: week}\n",
	}
	c := start(t)
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(3, 4))
	date := func(d int32) string { return calendar.Date(d).Format(time.DateOnly) }
	for ji, y := range jobs {
		t.Run(fmt.Sprint(ji), func(t *testing.T) {
			j, err := jobfile.Parse([]byte("name: emu\ninput: {orders: {path: o.csv}}\n"+y), "/")
			if err != nil {
				t.Fatal(err)
			}
			rc, err := night.New(j, "r", "2026-11-22", nil, zerolog.Nop())
			if err != nil {
				t.Fatal(err)
			}
			sqlExpr, rule, err := bqsource.CellStart(rc, "d", "f")
			if err != nil {
				t.Fatal(err)
			}
			run := calendar.Day(time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC))
			type pair struct{ d, f int32 }
			var pairs []pair
			var lits []string
			for range 400 {
				f := run - int32(rng.IntN(900))
				d := f + int32(rng.IntN(int(run-f)+1))
				if rng.IntN(10) == 0 {
					d = f
				}
				pairs = append(pairs, pair{d, f})
				lits = append(lits, fmt.Sprintf("STRUCT(%d AS i, DATE '%s' AS d, DATE '%s' AS f)", len(pairs)-1, date(d), date(f)))
			}
			sql := "SELECT i, " + sqlExpr + " AS s FROM UNNEST([" + strings.Join(lits, ", ") + "])"
			it, err := c.Query(sql).Read(ctx)
			if err != nil {
				t.Fatalf("%v\n%s", err, sql)
			}
			seen := 0
			for {
				var row []bigquery.Value
				err := it.Next(&row)
				if errors.Is(err, iterator.Done) {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				p := pairs[row[0].(int64)]
				got := calendar.Day(row[1].(civil.Date).In(time.UTC))
				if want := rule(p.d, p.f); got != want {
					t.Errorf("day %s first %s: SQL cell starts %s, Go %s", date(p.d), date(p.f), date(got), date(want))
				}
				seen++
			}
			if seen != len(pairs) {
				t.Errorf("%d rows back of %d", seen, len(pairs))
			}
		})
	}
}
