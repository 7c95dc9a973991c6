// Package rules holds what decides whether an order is used, shared by the
// validate stage and a warehouse that validates rows itself (BigQuery
// pushdown): a run's range limits on orders and the reasons a valid row is
// excluded. Applying one set of rules in both places is what makes a run
// with pushdown write the same tables as one without.
package rules

import (
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
