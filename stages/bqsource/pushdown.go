package bqsource

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"cloud.google.com/go/bigquery"
	"cloud.google.com/go/civil"
	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"retain/engine"
	"retain/night"
	"retain/schemas"
	"retain/stages/internal/ids"
	"retain/stages/internal/input"
	"retain/stages/internal/rules"
	"retain/stages/validate/validateconfig"
)

// ErrPushdown is wrapped when a source table cannot be pushed down.
var ErrPushdown = errors.New("BigQuery pushdown")

// Pushdown is a read that leaves validation and the per-customer daily fold
// to BigQuery. Rows that need validate's judgement come back as they are:
// rows failing a check (validate.min_order_ts and validate.max_amount
// included), and refunds (negative amounts), which validate matches with
// their orders. Duplicate order ids are settled in SQL by rule R1, per
// order id: the losing rows come back flagged input.LostDuplicate for
// validate to quarantine with their values. Every used order (the winner
// of its id, with a counted or refund status) is folded per customer and
// cell of the night's grid (stages/internal/periods), in SQL that applies
// validate's rules, so a customer costs a few rows, not one a purchase
// day; an order a refund names, or with a refund status, also comes back
// flagged input.FoldedOrder for validate to match and file refunds
// against. No query numbers or orders rows across the table: every
// window is partitioned by order id or customer and every result
// unordered, so BigQuery spreads the work over its workers and the result
// over several read streams.
type Pushdown struct {
	// Counts has one row: the rows that do not come back (folded), the
	// used and excluded rows folded (with those flagged
	// input.FoldedOrder), and the ids trimmed among the folded rows.
	Counts Query
	// Raw are the rows validate sees, with the plain read's columns
	// (input.SharedOrderID included, computed over the whole input) and
	// the flags input.LostDuplicate and input.FoldedOrder.
	Raw Query
	// Cells are order_cells rows.
	Cells Query
	// Conflicts lists the currencies and days that input.fx_rates gives
	// two different rates, which fail the run; it is run first, and only
	// when the rates are a BigQuery table the other queries convert with
	// (file rates are checked as they are read, see BindFileRates).
	Conflicts Query

	// with are the common table expressions every query starts with,
	// ending in routed: the rows with _raw (they go to validate) and
	// counted (the expression that says a row's status counts); params
	// every parameter they may use. PlanItemsPushdown builds on them.
	with, counted string
	params        []bigquery.QueryParameter
	// fileFX is set when the queries convert with input.fx_rates' files,
	// which BindFileRates hands them.
	fileFX bool
}

// PlanPushdown builds the pushdown queries for the job's source table with
// schema; fxSchema is the schema of input.fx_rates' table, nil when the
// job has none.
func PlanPushdown(rc *night.Context, schema, fxSchema bigquery.Schema) (*Pushdown, error) {
	if err := checkItemsPushdown(rc); err != nil {
		// Refused here, before the orders' queries are paid for.
		return nil, err
	}
	q, err := Plan(rc, schema)
	if err != nil {
		return nil, err
	}
	switch q.types["order_ts"] {
	case bigquery.TimestampFieldType, bigquery.DateTimeFieldType, bigquery.DateFieldType:
	default:
		return nil, fmt.Errorf("%w: order_ts must be a TIMESTAMP, DATETIME or DATE column, not %s", ErrPushdown, q.types["order_ts"])
	}
	amountType := q.types["amount"]
	switch amountType {
	case bigquery.IntegerFieldType, bigquery.FloatFieldType, bigquery.NumericFieldType, bigquery.BigNumericFieldType:
	default:
		return nil, fmt.Errorf("%w: amount must be a number column, not %s", ErrPushdown, amountType)
	}
	has := func(c string) bool { _, ok := q.types[c]; return ok }
	limits, err := rules.LimitsOf(rc)
	if err != nil {
		return nil, err
	}

	// ts is order_ts as an instant: DATE and DATETIME values are local to
	// the job's zone, as validate reads them.
	ts := "`order_ts`"
	if q.types["order_ts"] != bigquery.TimestampFieldType {
		ts = "TIMESTAMP(`order_ts`, @tz)"
	}
	// Each check that can be NULL sits beside an IS NULL that is then
	// TRUE, so _bad is never NULL. BigQuery strings are valid UTF-8, so
	// invalid_utf8 needs no check here.
	// amount is the amount in the reporting currency (see fx below).
	amount := "CAST(`amount` AS FLOAT64)"
	src := "src"
	fx, err := planFX(rc, fxSchema)
	if err != nil {
		return nil, err
	}
	if fx != nil {
		if !has("currency") {
			fx = nil // every order is in the reporting currency
		} else {
			amount, src = "_amount", "converted"
		}
	}
	bad := []string{
		"`order_id` IS NULL OR TRIM(CAST(`order_id` AS STRING)) = ''",
		"`customer_id` IS NULL OR TRIM(CAST(`customer_id` AS STRING)) = ''",
		"`order_ts` IS NULL OR " + ts + " < @min_order_ts",
		"`amount` IS NULL OR `amount` < 0 OR " + amount + " > @max_amount",
	}
	if fx != nil {
		// No rate, or a product beyond float64.
		bad[3] = "`amount` IS NULL OR `amount` < 0 OR " + amount + " IS NULL OR " + amount + " > @max_amount"
	}
	if amountType == bigquery.FloatFieldType {
		bad = append(bad, "IS_NAN(`amount`) OR IS_INF(`amount`)")
	}
	// Without fx_rates validate quarantines an order in a currency other
	// than input.reporting_currency (unknown_currency), and fails a night
	// whose orders carry several when none is set. The second needs every
	// order's currency, which folded rows would hide, so pushdown needs
	// the reporting currency, and rows naming any other go to validate,
	// unless fx_rates is set and a rate applies: those are converted here.
	foreign := "`currency` IS NOT NULL AND UPPER(TRIM(`currency`)) != @reporting_currency"
	reporting := strings.ToUpper(strings.TrimSpace(night.InputOf(rc.Job).ReportingCurrency))
	if has("currency") {
		if reporting == "" {
			return nil, fmt.Errorf("%w: a currency column needs input.reporting_currency, since only a full read sees whether the orders carry several", ErrPushdown)
		}
		if fx != nil {
			// Converted in SQL when a rate applies; without one validate
			// quarantines the row as unknown_currency.
			bad = append(bad, foreign+" AND _fx_rate IS NULL")
		} else {
			bad = append(bad, foreign)
		}
	}
	// A row is used when its status counts or is a refund status (an
	// order refunded in full is still bought, and refunded in the refunds
	// table); others are excluded.
	counted := "TRUE"
	vc := validateconfig.Of(rc.Job)
	if has("status") {
		counted = "(`status` IS NULL OR LOWER(TRIM(`status`)) IN UNNEST(@counted)"
		if vc.RefundsOn() {
			counted += " OR LOWER(TRIM(`status`)) IN UNNEST(@refund)"
		}
		counted += ")"
	}
	// Validate matches refunds with the used orders they name. A refund
	// row (a negative amount; _bad here, as it is no order) goes to it;
	// the winner of an id a negative amount names, and an order with a
	// refund status (refunded in full), are folded here like any used
	// order and also sent to it flagged input.FoldedOrder, for it to
	// remember and file the refund. With refunds off a negative amount is
	// a bad row like any other.
	named, refundStatus := "FALSE", "FALSE"
	if vc.RefundsOn() {
		named = "COALESCE(LOGICAL_OR(`amount` < 0) OVER (PARTITION BY TRIM(CAST(`order_id` AS STRING))), FALSE)"
		if has("status") {
			refundStatus = "COALESCE(LOWER(TRIM(`status`)) IN UNNEST(@refund), FALSE)"
		}
	}
	text := func(c string) string {
		if has(c) {
			return "`" + c + "`"
		}
		return "CAST(NULL AS STRING)"
	}
	// Rule R1 (validate's compareDuplicates) as an ORDER BY of the rows
	// of one order id: the instant, the trimmed customer, the amount as
	// read (-0 before 0, which only FLOAT64 holds), then currency,
	// status, country and channel as read, NULL first as in ASC, then the
	// rest as read. Rows equal in all of them are equal in every column
	// BigQuery gives validate, so either may win.
	r1 := []string{ts, "TRIM(CAST(`customer_id` AS STRING))", "CAST(`amount` AS FLOAT64)"}
	if amountType == bigquery.FloatFieldType {
		r1 = append(r1, "IEEE_DIVIDE(1, `amount`)")
	}
	r1 = append(r1, text("currency"), text("status"), text("country"), text("channel"),
		"CAST(`order_id` AS STRING)", "CAST(`customer_id` AS STRING)", "`order_ts`", "`amount`")
	// The rows are the plain read's, so its _shared_order_id sees every
	// row of the input, not only the ones that come back.
	with := "WITH src AS (" + q.SQL + "), "
	if fx != nil {
		// Each order takes the rate of its currency on its local day,
		// which fx holds for every day from a currency's first rate to the
		// run date, so the join is on equal keys. The product is the one
		// validate computes, float64 by float64 and not rounded; it is
		// NULL where it overflows (validate then finds +Inf above
		// validate.max_amount) as where no rate applies.
		with += fx.ctes + ", converted AS (SELECT src.*, _fx_rate, IF(" + foreign + ", " +
			"SAFE_MULTIPLY(CAST(`amount` AS FLOAT64), _fx_rate), CAST(`amount` AS FLOAT64)) AS _amount FROM src " +
			"LEFT JOIN fx ON _fx_code = UPPER(TRIM(`currency`)) AND _fx_day = DATE(" + ts + ", @tz)), "
	}
	// Ids compare trimmed, as validate trims them; the counts query counts
	// the trimmed ones among the rows that never reach it.
	with += "checked AS (SELECT *, (" + strings.Join(bad, ") OR (") + ") AS _bad FROM " + src + "), " +
		// Duplicates are settled among rows that passed the checks, as
		// validate only compares those: the first row by R1 wins, every
		// other goes to validate flagged input.LostDuplicate.
		"ranked AS (SELECT *, IF(_bad, 0, ROW_NUMBER() OVER (PARTITION BY TRIM(CAST(`order_id` AS STRING)), _bad ORDER BY " + strings.Join(r1, ", ") + ")) AS _rank, " +
		named + " AS _named FROM checked), " +
		"routed AS (SELECT *, _bad OR _rank > 1 AS _raw, _rank > 1 AS _lost, " +
		"_rank = 1 AND " + counted + " AND (_named OR " + refundStatus + ") AS _ledger FROM ranked) "

	params := append([]bigquery.QueryParameter(nil), q.Params...)
	params = append(params, bigquery.QueryParameter{Name: "reporting_currency", Value: reporting},
		bigquery.QueryParameter{Name: "tz", Value: rc.Job.Timezone},
		bigquery.QueryParameter{Name: "min_order_ts", Value: limits.MinOrderTS.UTC()},
		bigquery.QueryParameter{Name: "max_amount", Value: limits.MaxAmount},
		bigquery.QueryParameter{Name: "run_date", Value: civil.DateOf(rc.RunDate.In(rc.Job.Location()))})
	lowered := func(statuses []string) []string {
		out := make([]string, len(statuses))
		for i, s := range statuses {
			out[i] = strings.ToLower(strings.TrimSpace(s))
		}
		return out
	}
	params = append(params, bigquery.QueryParameter{Name: "counted", Value: lowered(vc.CountedStatuses)},
		bigquery.QueryParameter{Name: "refund", Value: lowered(vc.RefundStatuses)})
	if fx != nil && fx.file {
		// Empty until BindFileRates: planning needs no file, and a dry
		// run's estimate does not depend on the rates.
		for _, name := range fileRateParams {
			params = append(params, bigquery.QueryParameter{Name: name, Value: []string{}})
		}
	}
	p := &Pushdown{Counts: Query{Name: QueryCounts, Table: q.Table}, Raw: Query{Name: QueryRaw, Table: q.Table}, Cells: Query{Name: QueryCells, Table: q.Table},
		with: with, counted: counted, params: params, fileFX: fx != nil && fx.file}
	if fx != nil {
		p.Conflicts = fx.conflicts
	}
	// Folded rows are the ones that do not come back at all; the used and
	// excluded ones include those that come back flagged
	// input.FoldedOrder, which validate does not count again.
	trimmed := func(c string) string {
		return "COUNTIF(NOT _raw AND NOT _ledger AND CAST(`" + c + "` AS STRING) != TRIM(CAST(`" + c + "` AS STRING))) AS trimmed_" + c
	}
	p.Counts.SQL = with + "SELECT COUNTIF(NOT _raw AND NOT _ledger) AS folded, COUNTIF(NOT _raw AND " + counted + ") AS used, " +
		"COUNTIF(NOT _raw AND NOT " + counted + ") AS excluded, " + trimmed("order_id") + ", " + trimmed("customer_id") + " FROM routed"
	p.Counts.Columns = []string{"folded", "used", "excluded", "trimmed_order_id", "trimmed_customer_id"}
	p.Raw.SQL = with + "SELECT " + strings.Join(q.names, ", ") + ", `" + input.SharedOrderID + "`, _lost AS `" + input.LostDuplicate + "`, _ledger AS `" + input.FoldedOrder + "` FROM routed WHERE _raw OR _ledger"
	p.Raw.Columns = append(append([]string(nil), q.Columns...), input.LostDuplicate, input.FoldedOrder)
	// Revenue comes back as the three exact integer parts of each amount
	// summed, so the order BigQuery adds them in cannot show; the latest
	// order names country and channel, the greatest of them on a tie
	// (BigQuery sorts NULL last in DESC, that is lowest).
	a := amount
	frac := "(" + a + " - FLOOR(" + a + "))"
	// Each row's cell needs the customer's first purchase day, a window
	// over the customer alone.
	cell, _, err := CellStart(rc, "_day", "_first")
	if err != nil {
		return nil, err
	}
	p.Cells.SQL = with + "SELECT customer_id, first_date, last_date, purchase_days, orders, revenue_units, revenue_frac_hi, revenue_frac_lo, first_order_at, last_order_at, " +
		"latest.country AS country, latest.channel AS channel FROM (" +
		"SELECT _cid AS customer_id, MIN(_day) AS first_date, MAX(_day) AS last_date, COUNT(DISTINCT _day) AS purchase_days, COUNT(*) AS orders, " +
		"SUM(CAST(FLOOR(" + a + ") AS INT64)) AS revenue_units, " +
		"SUM(CAST(FLOOR(" + frac + " * 2147483648) AS INT64)) AS revenue_frac_hi, " +
		"SUM(CAST(FLOOR((" + frac + " * 2147483648 - FLOOR(" + frac + " * 2147483648)) * 2147483648) AS INT64)) AS revenue_frac_lo, " +
		"MIN(" + ts + ") AS first_order_at, MAX(" + ts + ") AS last_order_at, " +
		"ARRAY_AGG(STRUCT(" + text("country") + " AS country, " + text("channel") + " AS channel) ORDER BY " + ts + " DESC, " + text("country") + " DESC, " + text("channel") + " DESC LIMIT 1)[OFFSET(0)] AS latest " +
		"FROM (SELECT *, " + cell + " AS _cell FROM (SELECT *, MIN(_day) OVER (PARTITION BY _cid) AS _first FROM (" +
		"SELECT *, TRIM(CAST(`customer_id` AS STRING)) AS _cid, DATE(" + ts + ", @tz) AS _day FROM routed WHERE NOT _raw AND " + counted + "))) " +
		"GROUP BY _cid, _cell)"
	for _, c := range schemas.OrderCells.Columns {
		p.Cells.Columns = append(p.Cells.Columns, c.Name)
	}
	for _, qq := range p.Queries() {
		qq.Params = usedParams(params, qq.SQL)
		noteFileRates(qq, "the rates read from input.fx_rates' files when the night runs")
	}
	return p, nil
}

// fileRateParams are the parameters of file rates, in their SQL's order.
var fileRateParams = [...]string{ParamFXCurrency, ParamFXRateDate, ParamFXRate}

// noteFileRates tells `retain plan` what q's file rates parameters hold,
// if it has them, rather than list every rate.
func noteFileRates(q *Query, what string) {
	for _, par := range q.Params {
		for i, name := range fileRateParams {
			if par.Name == name {
				if q.ParamNotes == nil {
					q.ParamNotes = map[string]string{}
				}
				q.ParamNotes[name] = "ARRAY<STRING> " + [...]string{"currency", "day (YYYY-MM-DD)", "rate (shortest exact decimal)"}[i] + " of each of " + what
			}
		}
	}
}

// BindFileRates reads input.fx_rates' files with read and hands the rates
// that can matter (see fileRateRows) to the queries as ParamFXCurrency,
// ParamFXRateDate and ParamFXRate; it does nothing when the queries
// convert with a table or not at all. The reader runs it before any query
// is paid for, so conflicting rates fail the run with validate's error,
// and more than MaxFileRates rates with ErrPushdown, before BigQuery
// bills a byte.
func (p *Pushdown) BindFileRates(ctx context.Context, rc *night.Context, read rules.FileRates) error {
	if !p.fileFX {
		return nil
	}
	if read == nil {
		return fmt.Errorf("%w: input.fx_rates are files and no reader of them was given", ErrPushdown)
	}
	rates, err := read(ctx, rc)
	if err != nil {
		return err
	}
	rows, err := fileRateRows(rc, rates)
	if err != nil {
		return err
	}
	p.bindRates(rows)
	rc.Log.Info().Str("stage", "extract").Int("rates", len(rows.rate)).Int("rates_read", len(rates)).Msg("FX rates from files sent with the pushdown queries")
	return nil
}

// bindRates sets the file rates parameters to rows in p's parameters and
// queries.
func (p *Pushdown) bindRates(rows fileRates) {
	bind := func(params []bigquery.QueryParameter) {
		for i := range params {
			switch params[i].Name {
			case ParamFXCurrency:
				params[i].Value = rows.currency
			case ParamFXRateDate:
				params[i].Value = rows.day
			case ParamFXRate:
				params[i].Value = rows.rate
			}
		}
	}
	bind(p.params)
	n := len(rows.rate)
	for _, q := range p.Queries() {
		bind(q.Params)
		noteFileRates(q, fmt.Sprintf("the %d %s read from input.fx_rates' files", n, plural(n, "rate", "rates")))
	}
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// usedParams are the parameters of params that sql names: BigQuery rejects
// parameters a query does not use.
func usedParams(params []bigquery.QueryParameter, sql string) []bigquery.QueryParameter {
	var out []bigquery.QueryParameter
	for _, p := range params {
		if namesParam(sql, p.Name) {
			out = append(out, p)
		}
	}
	return out
}

// namesParam reports whether sql uses the parameter @name itself, not
// only one whose name starts with it (@fx_rate in @fx_rate_date).
func namesParam(sql, name string) bool {
	ref := "@" + name
	for i := strings.Index(sql, ref); i >= 0; {
		end := i + len(ref)
		if end == len(sql) || !isIdentByte(sql[end]) {
			return true
		}
		next := strings.Index(sql[end:], ref)
		if next < 0 {
			return false
		}
		i = end + next
	}
	return false
}

func isIdentByte(c byte) bool {
	return c == '_' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

// finishPushdown runs the pushdown queries: raw rows go to validate like a
// plain read's, folded cells straight to the customer summary, and the folded
// rows join the row accounting.
func (r *reader) finishPushdown(ctx context.Context, out engine.Emitter) error {
	p := r.pushdown
	if p.Conflicts.SQL != "" {
		var cs []conflict
		if err := r.read(ctx, &p.Conflicts, func(rec arrow.Record) error { return collectConflicts(rec, &cs) }); err != nil {
			return err
		}
		if err := firstConflict(cs); err != nil {
			return err
		}
	}
	var folded, used, excluded, trimmedOrder, trimmedCustomer int64
	err := r.read(ctx, &p.Counts, func(rec arrow.Record) error {
		if rec.NumRows() != 1 {
			return fmt.Errorf("%w: counts query returned %d rows", ErrPushdown, rec.NumRows())
		}
		for i, v := range []*int64{&folded, &used, &excluded, &trimmedOrder, &trimmedCustomer} {
			c, ok := rec.Column(i).(*array.Int64)
			if !ok {
				return fmt.Errorf("%w: counts column %d is %s", ErrPushdown, i, rec.Column(i).DataType())
			}
			*v = c.Value(0)
		}
		return nil
	})
	if err != nil {
		return err
	}
	source := "bigquery://" + r.cfg.Ref().String()
	err = r.read(ctx, &p.Raw, func(rec arrow.Record) error {
		return input.EmitOrders(ctx, r.rc, out, rec, source, input.NoRow)
	})
	if err != nil {
		return err
	}
	var cells int64
	err = r.read(ctx, &p.Cells, func(rec arrow.Record) error {
		cells += rec.NumRows()
		return out.Emit(ctx, schemas.OrderCells.Name, rec)
	})
	if err != nil {
		return err
	}
	r.rc.Rows.Read += folded
	r.rc.Rows.Used += used
	r.rc.Rows.Excluded[rules.ExcludedStatusNotCounted] += excluded
	ids.AddCount(r.rc.Rows.Trimmed, "order_id", trimmedOrder)
	ids.AddCount(r.rc.Rows.Trimmed, "customer_id", trimmedCustomer)
	r.rc.Log.Info().Str("stage", "extract").Int64("rows_folded", folded).Int64("customer_cells", cells).Msg("BigQuery pushdown read")
	return nil
}
