// Package audiences is the stage that writes the customer lists a mail or
// automation tool triggers on — who entered a win-back stage today, new
// customers, tier upgrades, milestones, anniversaries, valuable customers at
// risk — one CSV per audience, committed atomically with the tables. Each
// list is a function of the run date, so a tool that reads it once per day
// contacts each customer once.
package audiences

import (
	"bufio"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"

	"retain/calendar"
	"retain/engine"
	"retain/night"
	"retain/schemas"
)

// row gives an audience predicate what it reads of a customer.
type row struct {
	rec arrow.Record
	i   int
	idx map[string]int
	run arrow.Date32
	cfg *Config
}

func (r row) float(name string) float64 {
	return r.rec.Column(r.idx[name]).(*array.Float64).Value(r.i)
}

func (r row) str(name string) string {
	a := r.rec.Column(r.idx[name]).(*array.String)
	if a.IsNull(r.i) {
		return ""
	}
	return a.Value(r.i)
}

func (r row) boolean(name string) bool {
	return r.rec.Column(r.idx[name]).(*array.Boolean).Value(r.i)
}

func (r row) valid(name string) bool { return r.rec.Column(r.idx[name]).IsValid(r.i) }

// enteredToday is a win-back stage entered on the run date.
func enteredToday(stage string) func(row) bool {
	return func(r row) bool {
		return r.str("winback_stage") == stage &&
			r.rec.Column(r.idx["winback_stage_entered_on"]).(*array.Date32).Value(r.i) == r.run
	}
}

// audiences define each list; their names are Names.
var audiences = map[string]func(row) bool{
	"winback_1_entered_today": enteredToday("winback_1"),
	"winback_2_entered_today": enteredToday("winback_2"),
	"winback_3_entered_today": enteredToday("winback_3"),
	"lapsed_entered_today":    enteredToday("lapsed"),
	"new_customers":           func(r row) bool { return r.boolean("is_new_customer") },
	"tier_upgrades":           func(r row) bool { return r.boolean("is_tier_upgraded_today") },
	"milestones_today":        func(r row) bool { return r.valid("milestone_reached_today") },
	"anniversaries_today":     func(r row) bool { return r.boolean("is_first_order_anniversary_today") },
	"at_risk_high_value":      func(r row) bool { return r.str("churn_risk") == "high" && r.boolean("is_top_spender") },
}

// Register adds the audiences stage.
func Register(r *night.Registry) error {
	return r.Register(night.Spec{
		Name:      "audiences",
		Doc:       "One CSV per configured audience under <output>/audiences/snapshot_date=<date>/.",
		Inputs:    []string{schemas.CustomerSegments.Name},
		Artifacts: []string{schemas.AudiencesDir},
		New: func(_ context.Context, rc *night.Context) (engine.Stage, error) {
			return &stage{rc: rc}, nil
		},
	}, Section)
}

type list struct {
	name string
	keep func(row) bool
	file io.WriteCloser
	buf  *bufio.Writer
	csv  *csv.Writer
	rows int64
	// deferred lists hold their rows until Finish knows every customer.
	deferred bool
	held     []held
}

type stage struct {
	engine.BaseStage
	rc    *night.Context
	lists []*list
	// clvs are every customer's predicted_clv, for the deferred lists.
	clvs []float64
}

func (s *stage) open(out engine.Emitter) error {
	for _, name := range Section.Of(s.rc.Job).Lists {
		f, err := out.Create(schemas.AudiencesDir, name+".csv")
		if err != nil {
			return err
		}
		keep := audiences[name]
		if keep == nil {
			keep = movers[name]
		}
		l := &list{name: name, keep: keep, file: f, buf: bufio.NewWriter(f), deferred: name == pAliveDroppedList}
		l.csv = csv.NewWriter(l.buf)
		if err := l.csv.Write(schemas.AudienceColumns); err != nil {
			return err
		}
		s.lists = append(s.lists, l)
	}
	return nil
}

func (s *stage) Process(_ context.Context, _ string, rec arrow.Record, out engine.Emitter) error {
	if !Section.Of(s.rc.Job).Enabled {
		return nil
	}
	if s.lists == nil {
		if err := s.open(out); err != nil {
			return err
		}
	}
	idx := map[string]int{}
	for i, f := range rec.Schema().Fields() {
		idx[f.Name] = i
	}
	for _, c := range schemas.AudienceColumns {
		if _, ok := idx[c]; !ok && c != schemas.CurrencyColumn.Name {
			return fmt.Errorf("%s has no column %s", schemas.CustomerSegments.Name, c)
		}
	}
	// The table's rows are folded from every order, so validation has
	// settled the currency.
	cur := s.rc.Currency()
	values := make([]string, len(schemas.AudienceColumns))
	for i := 0; i < int(rec.NumRows()); i++ {
		r := row{rec: rec, i: i, idx: idx, run: s.rc.SnapshotDate, cfg: Section.Of(s.rc.Job)}
		if r.valid("predicted_clv") {
			s.clvs = append(s.clvs, r.float("predicted_clv"))
		}
		filled := false
		for _, l := range s.lists {
			if !l.keep(r) {
				continue
			}
			if !filled {
				for k, c := range schemas.AudienceColumns {
					switch {
					case c == schemas.CurrencyColumn.Name:
						values[k] = cur.Code
					case schemas.CustomerSegments.IsMoney(c):
						values[k] = money(rec.Column(idx[c]), i, cur)
					default:
						values[k] = text(rec.Column(idx[c]), i)
					}
				}
				filled = true
			}
			if l.deferred {
				l.held = append(l.held, held{values: slices.Clone(values), clv: r.float("predicted_clv")})
				continue
			}
			if err := l.csv.Write(values); err != nil {
				return err
			}
			l.rows++
		}
	}
	return nil
}

// text renders a value the way spreadsheet and mail tools read it: RFC 3339
// times, plain decimals, empty for null, and text that cannot run as a
// formula.
func text(a arrow.Array, i int) string {
	if a.IsNull(i) {
		return ""
	}
	switch a := a.(type) {
	case *array.String:
		return neutralise(a.Value(i))
	case *array.Int64:
		return strconv.FormatInt(a.Value(i), 10)
	case *array.Float64:
		v := a.Value(i)
		if math.Abs(v) >= 0.01 {
			return strconv.FormatFloat(v, 'f', 2, 64)
		}
		return strconv.FormatFloat(v, 'g', 6, 64)
	case *array.Timestamp:
		return time.UnixMicro(int64(a.Value(i))).UTC().Format(time.RFC3339)
	case *array.Date32:
		return calendar.Date(int32(a.Value(i))).Format(time.DateOnly)
	}
	return a.ValueStr(i)
}

// money renders a money value rounded as the load stage rounds the
// tables, with the currency's decimals, so a list shows what its table holds.
func money(a arrow.Array, i int, cur night.Currency) string {
	f, ok := a.(*array.Float64)
	if !ok || f.IsNull(i) {
		return text(a, i)
	}
	return strconv.FormatFloat(cur.Round(f.Value(i)), 'f', cur.Scale, 64)
}

// neutralise prefixes text that a spreadsheet would run as a formula with
// "'", which makes it a text cell (OWASP's advice on CSV injection): ids,
// countries and channels come from the shop's input, and a list is as
// likely to be opened in a spreadsheet as fed to a mail tool. Text that is
// a plain number, such as a negative integer id, reads as that number and
// stays as it is; numeric columns are never text and are never changed.
func neutralise(s string) string {
	if s == "" || !strings.ContainsRune(formulaStarts, rune(s[0])) || isPlainNumber(s) {
		return s
	}
	return "'" + s
}

// formulaStarts are the first characters that make a spreadsheet cell a
// formula, or that some strip before looking for one.
const formulaStarts = "=+-@\t\r"

// isPlainNumber is an optional sign, digits and an optional decimal part.
func isPlainNumber(s string) bool {
	if s[0] == '-' || s[0] == '+' {
		s = s[1:]
	}
	digits, dot := 0, false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			digits++
		case c == '.' && !dot && digits > 0 && i < len(s)-1:
			dot = true
		default:
			return false
		}
	}
	return digits > 0
}

// Finish flushes every list, writing empty ones too: an empty file says
// "nobody today", a missing one would say "the job did not run".
func (s *stage) Finish(_ context.Context, out engine.Emitter) error {
	if !Section.Of(s.rc.Job).Enabled {
		return nil
	}
	if s.lists == nil {
		if err := s.open(out); err != nil {
			return err
		}
	}
	mid, ok := median(s.clvs)
	for _, l := range s.lists {
		for _, h := range l.held {
			if !ok || h.clv <= mid {
				continue
			}
			if err := l.csv.Write(h.values); err != nil {
				return err
			}
			l.rows++
		}
		l.csv.Flush()
		if err := l.csv.Error(); err != nil {
			return err
		}
		if err := l.buf.Flush(); err != nil {
			return err
		}
		if err := l.file.Close(); err != nil {
			return err
		}
		l.file = nil
		rel := filepath.Join(schemas.AudiencesDir, "snapshot_date="+s.rc.RunDateString(), l.name+".csv")
		s.rc.ArtifactRows[rel] = l.rows
	}
	return nil
}

// Close closes lists left open by a failed run; the staging folder goes with them.
func (s *stage) Close(context.Context) error {
	for _, l := range s.lists {
		if l.file != nil {
			l.file.Close()
		}
	}
	return nil
}
