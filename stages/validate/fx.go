package validate

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/apache/arrow/go/v15/arrow"
	"retain/night"
	"retain/schemas"
	"retain/stages/internal/input"
	"retain/stages/internal/localday"
	"retain/stages/internal/rules"
)

// ErrMixedCurrencies fails a run whose orders are in several currencies when
// the job converts none of them: summing yen and dollars would misstate
// every money column without a trace.
var ErrMixedCurrencies = errors.New("orders in several currencies and no conversion")

// ErrConflictingRates fails a run whose FX rates give one currency two
// different rates for the same day; it is the rules' sentinel, which
// BigQuery pushdown fails with too.
var ErrConflictingRates = rules.ErrConflictingRates

// ReasonUnknownCurrency quarantines an order whose currency has no rate on
// or before its order date, so no amount is used unconverted.
const ReasonUnknownCurrency = "unknown_currency"

type ratePoint struct {
	day  int32
	rate float64
}

// rates converts amounts into the reporting currency at the rate of the
// order's local date, or the latest earlier date with a rate.
type rates struct {
	reporting string
	loc       *time.Location
	byCode    map[string][]ratePoint
}

// loadRates reads input.fx_rates whole: it is small (currencies × days).
// A rate that is missing, not positive or infinite fails the run, naming the row,
// because a wrong rate would silently misstate every converted order.
func loadRates(ctx context.Context, rc *night.Context, read input.SideInput) (*rates, error) {
	src := night.InputOf(rc.Job).FXRates
	r := &rates{reporting: strings.ToUpper(night.InputOf(rc.Job).ReportingCurrency), loc: rc.Job.Location(), byCode: map[string][]ratePoint{}}
	if src == nil {
		if r.reporting == "" {
			return nil, nil
		}
		return r, nil // no rates: only the reporting currency converts
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("input.fx_rates: %w", err)
	}
	// The reader names the input and the file in its errors, visit's
	// included, so they are returned as they are.
	err := read(ctx, rc, src, schemas.FXRates, schemas.FXRatesRequired, func(rec arrow.Record) error {
		_, firstRow := input.SourceOf(rec)
		date := tsAccessor(column(rec, "date"), r.loc, src.TimestampFormat)
		code := textAccessor(column(rec, "currency"))
		rate := amountAccessor(column(rec, "rate_to_reporting"))
		for i := 0; i < int(rec.NumRows()); i++ {
			us, s1 := date(i)
			c, s2 := code(i)
			v, s3 := rate(i)
			if s1 != ok || s2 != ok || s3 != ok || !(v > 0) || math.IsInf(v, 1) || strings.TrimSpace(c) == "" {
				if firstRow == input.NoRow {
					// A warehouse row has no position: name it by its values.
					return fmt.Errorf("fx rate row (date %s, currency %q, rate %s): need a date, a currency and a positive rate",
						column(rec, "date").ValueStr(i), c, column(rec, "rate_to_reporting").ValueStr(i))
				}
				return fmt.Errorf("fx rate row %d: need a date, a currency and a positive rate", firstRow+int64(i))
			}
			k := strings.ToUpper(strings.TrimSpace(c))
			r.byCode[k] = append(r.byCode[k], ratePoint{localday.Of(us, r.loc), v})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	// A reader canceled part way stops without an error, so the rates
	// could be incomplete unless ctx is checked again after the read.
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("input.fx_rates: %w", err)
	}
	// Rows may come in any order (a warehouse table has none), so the
	// points are sorted by their values, and two different rates for one
	// currency and day fail: which one the shop meant cannot be told from
	// the rows, and picking either by arrival would change amounts between
	// reruns. The same rate twice is one point.
	for _, code := range slices.Sorted(maps.Keys(r.byCode)) {
		pts := r.byCode[code]
		slices.SortFunc(pts, func(a, b ratePoint) int {
			if a.day != b.day {
				return cmp.Compare(a.day, b.day)
			}
			return cmp.Compare(a.rate, b.rate)
		})
		for i := 1; i < len(pts); i++ {
			if pts[i].day == pts[i-1].day && pts[i].rate != pts[i-1].rate {
				return nil, rules.ConflictingRates(code, pts[i].day, pts[i-1].rate, pts[i].rate)
			}
		}
		r.byCode[code] = slices.CompactFunc(pts, func(a, b ratePoint) bool { return a.day == b.day })
	}
	return r, nil
}

// FileRates returns the rules.FileRates that reads input.fx_rates with read
// exactly as the stage does (loadRates), for BigQuery pushdown to convert
// with: the same checks, errors and local days, so a night converts the
// same amounts by the same rates wherever the product is taken.
func FileRates(read input.SideInput) rules.FileRates {
	return func(ctx context.Context, rc *night.Context) ([]rules.Rate, error) {
		r, err := loadRates(ctx, rc, read)
		if err != nil || r == nil {
			return nil, err
		}
		var out []rules.Rate
		for _, code := range slices.Sorted(maps.Keys(r.byCode)) {
			for _, p := range r.byCode[code] {
				out = append(out, rules.Rate{Currency: code, Day: p.day, Rate: p.rate})
			}
		}
		return out, nil
	}
}

// convert returns amount in the reporting currency; false when the currency
// has no rate on or before the order's day. An order without a currency is
// taken to be in the reporting currency.
func (r *rates) convert(amount float64, currency string, hasCurrency bool, orderUS int64) (float64, bool) {
	if !hasCurrency {
		return amount, true
	}
	pts, same := r.pointsOf(currency)
	if same {
		return amount, true
	}
	return r.at(pts, amount, orderUS)
}

// pointsOf returns the rates of a currency as read; same is true when
// amounts in it need no conversion (the reporting currency, or blank).
func (r *rates) pointsOf(currency string) (pts []ratePoint, same bool) {
	code := strings.ToUpper(strings.TrimSpace(currency))
	if code == "" || code == r.reporting {
		return nil, true
	}
	return r.byCode[code], false
}

// at converts amount at the rate of pts on the order's local day, or the
// latest earlier day; false when there is none.
func (r *rates) at(pts []ratePoint, amount float64, orderUS int64) (float64, bool) {
	rate, ok := rateOn(pts, localday.Of(orderUS, r.loc))
	return amount * rate, ok
}

// rateOn is the rate of pts on day, or the latest earlier day.
func rateOn(pts []ratePoint, day int32) (float64, bool) {
	// The last point on or before the day (days are unique).
	i, _ := slices.BinarySearchFunc(pts, day+1, func(p ratePoint, d int32) int { return int(p.day - d) })
	if i == 0 {
		return 0, false
	}
	return pts[i-1].rate, true
}
