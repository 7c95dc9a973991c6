// Package kpisconfig declares the job file's kpis section. It is a package
// of its own because the report reads the period and the churn rule too, to
// compare its tiles with the previous night and period, and stages may not
// import each other.
package kpisconfig

import (
	"fmt"
	"time"

	"retain/calendar"
	"retain/config"
)

// Config configures retention_kpis.
type Config struct {
	Period         string             `yaml:"period" doc:"The reporting period." enum:"month|week|quarter"`
	ChurnDays      int                `yaml:"churn_days" doc:"How many days without an order make a customer churned." range:"[1,3650]"`
	RetentionSpend map[string]float64 `yaml:"retention_spend" doc:"Retention spend per period, keyed by the period's start date (YYYY-MM-DD), for retention_cost_per_customer." range:"[0,+Inf)"`
}

// Section is the job file's kpis section.
var Section = config.NewSpec("kpis", "The retention KPI table.",
	func() Config { return Config{Period: "month", ChurnDays: 180} },
	func(c *Config, _ config.Env) error {
		for k := range c.RetentionSpend {
			if _, err := time.Parse(time.DateOnly, k); err != nil {
				return fmt.Errorf("%w: kpis.retention_spend key %q: want the period's start date YYYY-MM-DD", config.ErrInvalid, k)
			}
		}
		return nil
	})

// PeriodDayBefore is the same day of the previous kpis.period as runDay
// (calendar.Unit.SameDayBefore): the day the report's tiles compare with,
// and which the stages behind them compute as of in the same pass.
func PeriodDayBefore(f *config.File, runDay int32) int32 {
	// The period was checked against the enum when the file was read.
	u, _ := calendar.ParseUnit(Section.Of(f).Period)
	return u.SameDayBefore(runDay)
}
