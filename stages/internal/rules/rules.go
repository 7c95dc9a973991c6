// Package rules holds what decides whether an order is used, shared by the
// validate stage and a warehouse that validates rows itself (BigQuery
// pushdown): a run's range limits on orders and the reasons a valid row is
// excluded. Applying one set of rules in both places is what makes a run
// with pushdown write the same tables as one without.
package rules

import (
	"context"
	"errors"
	"fmt"
	"time"

	"retain/config"
	"retain/night"
	"retain/stages/validate/validateconfig"
)

// Limits are a run's range checks on orders.
type Limits struct {
	// MinOrderTS is the first instant used: midnight of
	// validate.min_order_ts in the job's zone.
	MinOrderTS time.Time
	// MaxAmount is validate.max_amount.
	MaxAmount float64
}

// LimitsOf returns the run's limits; validate.min_order_ts must be before
// the run date, or no order could be used.
func LimitsOf(rc *night.Context) (Limits, error) {
	v := validateconfig.Of(rc.Job)
	floor, err := time.ParseInLocation(time.DateOnly, v.MinOrderTS, rc.Job.Location())
	if err != nil {
		return Limits{}, fmt.Errorf("%w: validate.min_order_ts %q: want YYYY-MM-DD", config.ErrInvalid, v.MinOrderTS)
	}
	if !floor.Before(rc.RunDate) {
		return Limits{}, fmt.Errorf("%w: validate.min_order_ts %s is not before the run date %s", config.ErrInvalid, v.MinOrderTS, rc.RunDateString())
	}
	return Limits{MinOrderTS: floor, MaxAmount: v.MaxAmount}, nil
}

// Exclusion reasons: rows that are valid but not used by this run. They
// key night.Accounting.Excluded, which the manifest reports, so a
// warehouse that excludes rows itself must count them under the same names.
const (
	ExcludedAfterRunDate     = "after_run_date"
	ExcludedStatusNotCounted = "status_not_counted"
)

// ErrConflictingRates fails a run whose FX rates give one currency two
// different rates for the same day: which one the shop meant cannot be
// told from the rows, and picking either by arrival would change amounts
// between reruns. Validation and pushdown's SQL conversion both fail with
// it, so a run fails the same way wherever the rates are applied.
var ErrConflictingRates = errors.New("conflicting FX rates")

// ConflictingRates is the error for the first conflict found, with
// currencies, then days, in ascending order: day is a day number since
// 1970-01-01, rate and other the two smallest distinct rates of that day.
func ConflictingRates(code string, day int32, rate, other float64) error {
	return fmt.Errorf("input.fx_rates: %w: %s has two rates for %s (%g and %g); keep one", ErrConflictingRates,
		code, time.Unix(int64(day)*86400, 0).UTC().Format(time.DateOnly), rate, other)
}

// Rate is one FX rate as validation applies it: the rate of Currency
// (trimmed and upper-cased) into the reporting currency from Day, a day
// number since 1970-01-01 in the job's zone, until the currency's next
// rate.
type Rate struct {
	Currency string
	Day      int32
	Rate     float64
}

// FileRates reads input.fx_rates from its files with validation's reader
// and rules: every rate of each currency once, currencies, then days, in
// ascending order; nil without fx_rates. Two different rates for one
// currency and day fail with ErrConflictingRates, as validation fails. The
// validate stage provides it (validate.FileRates) to a warehouse that
// converts amounts itself, so the two cannot read the rates differently.
type FileRates func(ctx context.Context, rc *night.Context) ([]Rate, error)
