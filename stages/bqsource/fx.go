package bqsource

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"cloud.google.com/go/bigquery"
	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"retain/night"
	"retain/schemas"
	"retain/stages/internal/rules"
)

// QueryConflicts is the name of Pushdown.Conflicts.
const QueryConflicts = "fx_conflicts"

// fxPlan is the SQL of pushdown's currency conversion.
type fxPlan struct {
	// ctes defines fx (_fx_code, _fx_day, _fx_rate): for each currency,
	// the rate of every day from its first rate to the run date.
	ctes string
	// conflicts lists the currencies and days with two different rates.
	conflicts Query
}

// planFX builds the conversion for input.fx_rates' table with schema, nil
// when the rates are not a BigQuery table (or the job has none). The rule
// is validate's (stages/validate/fx.go): an order in a currency other than
// the reporting one takes the rate of its currency (codes trimmed and
// upper-cased) on the order's local day in the job's zone, or else of the
// latest earlier day with a rate, however old; the rate's day is its date,
// or a timestamp's local day; the same rate twice is one rate. The
// converted amount is amount × rate in float64, not rounded, which both
// sides compute to the same bits and split into the same exact-sum parts.
// Rows validate would fail the run on (a missing date, currency or rate,
// a rate not positive or not finite) are left out here: validate reads
// the table too and fails the run on them.
func planFX(rc *night.Context, schema bigquery.Schema) (*fxPlan, error) {
	in := night.InputOf(rc.Job)
	src := in.FXRates
	if src == nil || src.BigQuery == nil {
		return nil, nil
	}
	if schema == nil {
		return nil, fmt.Errorf("%w: the schema of input.fx_rates' table is needed to convert in SQL", ErrPushdown)
	}
	orders := in.Orders.BigQuery
	if a, b := orders.Location, src.BigQuery.Location; a != "" && b != "" && !strings.EqualFold(a, b) {
		return nil, fmt.Errorf("%w: input.fx_rates is in location %s and the orders in %s; one query cannot read both", ErrPushdown, b, a)
	}
	q, err := PlanTable(src, schemas.FXRates, schemas.FXRatesRequired, schema)
	if err != nil {
		return nil, fmt.Errorf("input.fx_rates: %w", err)
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
		return nil, fmt.Errorf("%w: input.fx_rates date must be a DATE, DATETIME or TIMESTAMP column to convert in SQL, not %s", ErrPushdown, t)
	}
	rate := "CAST(`rate_to_reporting` AS FLOAT64)"
	valid := "`date` IS NOT NULL AND `currency` IS NOT NULL AND TRIM(`currency`) != '' AND `rate_to_reporting` > 0"
	switch t := q.types["rate_to_reporting"]; t {
	case bigquery.FloatFieldType:
		valid += " AND NOT IS_NAN(`rate_to_reporting`) AND NOT IS_INF(`rate_to_reporting`)"
	case bigquery.IntegerFieldType, bigquery.NumericFieldType, bigquery.BigNumericFieldType:
	default:
		return nil, fmt.Errorf("%w: input.fx_rates rate_to_reporting must be a number column to convert in SQL, not %s", ErrPushdown, t)
	}
	// One row per currency, day and rate; the conflicts query makes sure
	// there is one per currency and day, so MIN picks the only rate.
	base := "fx_src AS (" + q.SQL + "), " +
		"fx_rates AS (SELECT DISTINCT UPPER(TRIM(`currency`)) AS _fx_code, " + day + " AS _fx_from, " + rate + " AS _fx_rate FROM fx_src WHERE " + valid + ")"
	p := &fxPlan{}
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
	// The two smallest rates of a day are the ones validate names.
	p.conflicts = Query{Name: QueryConflicts, Table: q.Table,
		SQL: "WITH " + base + " SELECT _fx_code AS currency, _fx_from AS rate_date, MIN(_fx_rate) AS rate, " +
			"MIN(IF(_fx_rate > _fx_low, _fx_rate, NULL)) AS other_rate " +
			"FROM (SELECT *, MIN(_fx_rate) OVER (PARTITION BY _fx_code, _fx_from) AS _fx_low FROM fx_rates) " +
			"GROUP BY _fx_code, _fx_from HAVING COUNT(*) > 1",
		Columns: []string{"currency", "rate_date", "rate", "other_rate"}}
	return p, nil
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
