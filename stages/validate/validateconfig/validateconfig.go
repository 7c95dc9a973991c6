// Package validateconfig declares the job file's validate section: which
// orders count, and the limits outside which a row is quarantined. It is a
// package of its own because the BigQuery pushdown applies the same rules
// and the run's volume guard reads its threshold, and neither may import
// the validate stage.
package validateconfig

import (
	"fmt"
	"strings"
	"time"

	"retain/config"
)

// Validate configures which valid orders are used.
type Validate struct {
	CountedStatuses []string `yaml:"counted_statuses" doc:"The order statuses that count as purchases, compared case-insensitively. Orders with another status are excluded and counted; orders with no status count."`
	RefundStatuses  []string `yaml:"refund_statuses" doc:"The order statuses of orders refunded in full, compared case-insensitively: such an order is used like a counted one (its gross amount is revenue) and its whole amount is refunded on its own day. A row with a negative amount, a counted or refund status and the order_id of a used order is a partial refund of that order. An empty list turns refunds off: negative amounts are then quarantined as negative_amount. A status may not be in both lists."`
	MaxVolumeDrop   float64  `yaml:"max_volume_drop" doc:"The share by which rows read may fall against the last committed night of the job before the run fails instead of committing; 1 turns the guard off. retain run --allow-volume-drop commits such a night anyway." range:"[0,1]"`
	MaxAmount       float64  `yaml:"max_amount" doc:"The largest order amount used, in the reporting currency (after conversion); larger ones are quarantined as amount_out_of_range, so one absurd value cannot make every revenue share and CLV meaningless. At most 10^12: revenue is summed exactly in 64-bit integer parts, which such amounts cannot overflow." range:"(0,1000000000000]"`
	MinOrderTS      string   `yaml:"min_order_ts" doc:"The earliest order date used (YYYY-MM-DD, from midnight in the job's zone); earlier orders are quarantined as order_ts_out_of_range, since a year-0001 order would stretch every cohort and tenure back to it. Must be before the run date."`
}

// Section is the job file's validate section.
var Section = config.NewSpec("validate", "Which orders count, and the limits outside which an order row is quarantined.",
	func() Validate {
		return Validate{CountedStatuses: []string{"completed"}, RefundStatuses: []string{"refunded", "returned"}, MaxVolumeDrop: 0.5, MaxAmount: 1e9, MinOrderTS: "1990-01-01"}
	},
	func(v *Validate, _ config.Env) error {
		if len(v.CountedStatuses) == 0 {
			return fmt.Errorf("%w: validate.counted_statuses: want at least one status", config.ErrInvalid)
		}
		for _, r := range v.RefundStatuses {
			for _, c := range v.CountedStatuses {
				if strings.EqualFold(strings.TrimSpace(r), strings.TrimSpace(c)) {
					return fmt.Errorf("%w: validate.refund_statuses: %q is also in counted_statuses; a status is a purchase or a refund, not both", config.ErrInvalid, r)
				}
			}
		}
		if _, err := time.Parse(time.DateOnly, v.MinOrderTS); err != nil {
			return fmt.Errorf("%w: validate.min_order_ts %q: want a date YYYY-MM-DD", config.ErrInvalid, v.MinOrderTS)
		}
		return nil
	})

// RefundsOn reports whether the job treats refunds as refunds, rather than
// quarantining negative amounts as before they were understood.
func (v *Validate) RefundsOn() bool { return len(v.RefundStatuses) > 0 }

// Of is the job's validate section.
func Of(f *config.File) *Validate { return Section.Of(f) }
