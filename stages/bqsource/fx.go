package bqsource

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"cloud.google.com/go/bigquery"
	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"retain/night"
	"retain/schemas"
	"retain/stages/internal/localday"
	"retain/stages/internal/rules"
)

// QueryConflicts is the name of Pushdown.Conflicts.
const QueryConflicts = "fx_conflicts"

// fxPlan is the SQL of pushdown's currency conversion.
type fxPlan struct {
	// ctes defines fx (_fx_code, _fx_day, _fx_rate): for each currency,
	// the rate of every day from its first rate to the run date.
	ctes string
	// conflicts lists the currencies and days with two different rates;
	// empty for file rates, whose conflicts are found on reading them.
	conflicts Query
	// file is set when the rates come from input.fx_rates' files, as the
	// parameters ParamFXCurrency, ParamFXRateDate and ParamFXRate.
	file bool
}

// The query parameters that carry input.fx_rates to pushdown's queries
// when the rates are files: three ARRAY<STRING> of one length, element i
// of each one rate (currency, its day as YYYY-MM-DD, the rate), as
// validate reads the files (see fileRates). Strings, because the client
// sends every parameter value as text anyway, so a float64 written in its
// shortest decimal that reads back to the same bits arrives exactly, and
// CAST in SQL reads it back; and because goccy/bigquery-emulator, which
// tests the SQL, reads ARRAY<STRUCT> parameters as one STRING and the
// elements of ARRAY<DATE> and ARRAY<FLOAT64> as strings, so the typed
// forms would run there differently or not at all.
const (
	ParamFXCurrency = "fx_currency"
	ParamFXRateDate = "fx_rate_date"
	ParamFXRate     = "fx_rate"
)

// MaxFileRates bounds the file rates one query carries. BigQuery limits
// an API request, the query text and its parameters included, to 10 MB,
// and the query text to 1 MB; the client sends each rate as about 75
// bytes of JSON (the three values, a rate in up to 17 digits), and every
// query of a night carries all of them, so 40,000 rates (about 3 MB; 27
// currencies for four years of days) leave the SQL and the other
// parameters ample room. A night with more is refused before any query is
// paid for.
const MaxFileRates = 40_000

// fileRates are the three parameters' values.
type fileRates struct {
	currency, day, rate []string
}

// planFX builds the conversion for input.fx_rates, from its table with
// schema or from its files through ParamFXCurrency, ParamFXRateDate and
// ParamFXRate; nil when the job has no
// rates. The rule
// is validate's (stages/validate/fx.go): an order in a currency other than
// the reporting one takes the rate of its currency (codes trimmed and
// upper-cased) on the order's local day in the job's zone, or else of the
// latest earlier day with a rate, however old; the rate's day is its date,
// or a timestamp's local day; the same rate twice is one rate. The
// converted amount is amount × rate in float64, not rounded, which both
// sides compute to the same bits and split into the same exact-sum parts.
// Rows validate would fail the run on (a missing date, currency or rate,
// a rate not positive or not finite) are left out here: validate reads
// the table too and fails the run on them. File rates reach the queries
// already read by validate's rules (rules.FileRates), so only the table's
// rows are cleaned here; from either source the same SQL follows.
func planFX(rc *night.Context, schema bigquery.Schema) (*fxPlan, error) {
	in := night.InputOf(rc.Job)
	src := in.FXRates
	if src == nil {
		return nil, nil
	}
	var base string
	p := &fxPlan{}
	if src.BigQuery == nil {
		p.file = true
		base = "fx_rates AS (SELECT _fx_code, CAST(@" + ParamFXRateDate + "[OFFSET(_fx_i)] AS DATE) AS _fx_from, CAST(@" + ParamFXRate + "[OFFSET(_fx_i)] AS FLOAT64) AS _fx_rate " +
			"FROM UNNEST(@" + ParamFXCurrency + ") AS _fx_code WITH OFFSET AS _fx_i)"
	} else {
		var err error
		if base, p.conflicts, err = tableFX(rc, schema); err != nil {
			return nil, err
		}
	}
	// A rate holds from its day to the day before the currency's next
	// rate, the last one to the run date, after which no order is read.
	// Spelled out per day, every order finds its rate by equal keys, which
	// BigQuery joins by hashing, where a range join would compare each
	// order with every rate of its currency. Days before
	// validate.min_order_ts are left out: orders then go to validate
	// whatever their rate, and an ancient first rate cannot make an array
	// of centuries.
	p.ctes = base + ", " +
		"fx_days AS (SELECT _fx_code, _fx_from, MIN(_fx_rate) AS _fx_rate FROM fx_rates GROUP BY _fx_code, _fx_from), " +
		"fx AS (SELECT _fx_code, _fx_day, _fx_rate FROM (SELECT *, LEAD(_fx_from) OVER (PARTITION BY _fx_code ORDER BY _fx_from) AS _fx_next FROM fx_days), " +
		"UNNEST(GENERATE_DATE_ARRAY(GREATEST(_fx_from, DATE(@min_order_ts, @tz)), IFNULL(DATE_SUB(_fx_next, INTERVAL 1 DAY), @run_date))) AS _fx_day)"
	return p, nil
}

// tableFX is the rates CTEs (fx_src, fx_rates) of input.fx_rates' table
// with schema, and the query that finds its conflicts.
func tableFX(rc *night.Context, schema bigquery.Schema) (string, Query, error) {
	src := night.InputOf(rc.Job).FXRates
	if schema == nil {
		return "", Query{}, fmt.Errorf("%w: the schema of input.fx_rates' table is needed to convert in SQL", ErrPushdown)
	}
	orders := night.InputOf(rc.Job).Orders.BigQuery
	if a, b := orders.Location, src.BigQuery.Location; a != "" && b != "" && !strings.EqualFold(a, b) {
		return "", Query{}, fmt.Errorf("%w: input.fx_rates is in location %s and the orders in %s; one query cannot read both", ErrPushdown, b, a)
	}
	q, err := PlanTable(src, schemas.FXRates, schemas.FXRatesRequired, schema)
	if err != nil {
		return "", Query{}, fmt.Errorf("input.fx_rates: %w", err)
	}
	var day string
	switch t := q.types["date"]; t {
	case bigquery.DateFieldType:
		day = "`date`"
	case bigquery.DateTimeFieldType:
		// A wall-clock reading in the job's zone, placed there as
		// validate places it.
		day = "DATE(TIMESTAMP(`date`, @tz), @tz)"
	case bigquery.TimestampFieldType:
		day = "DATE(`date`, @tz)"
	default:
		return "", Query{}, fmt.Errorf("%w: input.fx_rates date must be a DATE, DATETIME or TIMESTAMP column to convert in SQL, not %s", ErrPushdown, t)
	}
	rate := "CAST(`rate_to_reporting` AS FLOAT64)"
	valid := "`date` IS NOT NULL AND `currency` IS NOT NULL AND TRIM(`currency`) != '' AND `rate_to_reporting` > 0"
	switch t := q.types["rate_to_reporting"]; t {
	case bigquery.FloatFieldType:
		valid += " AND NOT IS_NAN(`rate_to_reporting`) AND NOT IS_INF(`rate_to_reporting`)"
	case bigquery.IntegerFieldType, bigquery.NumericFieldType, bigquery.BigNumericFieldType:
	default:
		return "", Query{}, fmt.Errorf("%w: input.fx_rates rate_to_reporting must be a number column to convert in SQL, not %s", ErrPushdown, t)
	}
	// One row per currency, day and rate; the conflicts query makes sure
	// there is one per currency and day, so MIN picks the only rate.
	base := "fx_src AS (" + q.SQL + "), " +
		"fx_rates AS (SELECT DISTINCT UPPER(TRIM(`currency`)) AS _fx_code, " + day + " AS _fx_from, " + rate + " AS _fx_rate FROM fx_src WHERE " + valid + ")"
	// The two smallest rates of a day are the ones validate names.
	conflicts := Query{Name: QueryConflicts, Table: q.Table,
		SQL: "WITH " + base + " SELECT _fx_code AS currency, _fx_from AS rate_date, MIN(_fx_rate) AS rate, " +
			"MIN(IF(_fx_rate > _fx_low, _fx_rate, NULL)) AS other_rate " +
			"FROM (SELECT *, MIN(_fx_rate) OVER (PARTITION BY _fx_code, _fx_from) AS _fx_low FROM fx_rates) " +
			"GROUP BY _fx_code, _fx_from HAVING COUNT(*) > 1",
		Columns: []string{"currency", "rate_date", "rate", "other_rate"}}
	return base, conflicts, nil
}

// fileRateRows are the rates of rates that can matter to a night's
// orders, as the parameters' elements: of each currency other than the
// reporting one, the rates from validate.min_order_ts's day to the run
// date, and the latest one before that day, which holds on it. Orders
// before that day go to validate whatever their rate, and none after the
// run date is read, so the others change no result, and leaving them out
// keeps years of history from filling the request.
func fileRateRows(rc *night.Context, rates []rules.Rate) (fileRates, error) {
	limits, err := rules.LimitsOf(rc)
	if err != nil {
		return fileRates{}, err
	}
	first, last := localday.Of(limits.MinOrderTS.UnixMicro(), rc.Job.Location()), localday.RunDate(rc)
	reporting := strings.ToUpper(strings.TrimSpace(night.InputOf(rc.Job).ReportingCurrency))
	out := fileRates{currency: []string{}, day: []string{}, rate: []string{}}
	for i, r := range rates {
		if r.Currency == reporting || r.Day > last {
			continue
		}
		// rates is sorted by currency, then day: a rate before the first
		// day matters only when the currency's next is after it.
		if next := i + 1; r.Day < first && next < len(rates) && rates[next].Currency == r.Currency && rates[next].Day <= first {
			continue
		}
		out.currency = append(out.currency, r.Currency)
		out.day = append(out.day, time.Unix(int64(r.Day)*86400, 0).UTC().Format(time.DateOnly))
		// The shortest decimal that reads back to the same float64.
		out.rate = append(out.rate, strconv.FormatFloat(r.Rate, 'g', -1, 64))
	}
	if n := len(out.rate); n > MaxFileRates {
		return fileRates{}, fmt.Errorf("%w: input.fx_rates holds %d rates from validate.min_order_ts to the run date, more than the %d one query can carry; raise validate.min_order_ts or read the rates from a BigQuery table", ErrPushdown, n, MaxFileRates)
	}
	return out, nil
}

// conflict is one currency and day of the conflicts query's result.
type conflict struct {
	code        string
	day         int32
	rate, other float64
}

// collectConflicts adds the conflicts of one result batch to cs.
func collectConflicts(rec arrow.Record, cs *[]conflict) error {
	code, ok1 := rec.Column(0).(*array.String)
	day, ok2 := rec.Column(1).(*array.Date32)
	rate, ok3 := rec.Column(2).(*array.Float64)
	other, ok4 := rec.Column(3).(*array.Float64)
	if !ok1 || !ok2 || !ok3 || !ok4 {
		return fmt.Errorf("%w: %s result has columns %s", ErrPushdown, QueryConflicts, rec.Schema())
	}
	for i := range int(rec.NumRows()) {
		*cs = append(*cs, conflict{code.Value(i), int32(day.Value(i)), rate.Value(i), other.Value(i)})
	}
	return nil
}

// firstConflict is the error validate gives for the same rates: the
// least currency, then day, whatever order the rows came in; nil without
// conflicts.
func firstConflict(cs []conflict) error {
	if len(cs) == 0 {
		return nil
	}
	c := slices.MinFunc(cs, func(a, b conflict) int {
		return cmp.Or(strings.Compare(a.code, b.code), cmp.Compare(a.day, b.day))
	})
	return rules.ConflictingRates(c.code, c.day, c.rate, c.other)
}
