// Package cohortsconfig declares the job file's cohorts section apart from
// the stage, so the grid of customer_periods (stages/internal/periods) can
// cut at the cohorts' period without importing the stage.
package cohortsconfig

import "retain/config"

// Config configures cohort_retention.
type Config struct {
	Period string `yaml:"period" doc:"Customers are grouped by the period of their first order: month, week (ISO, starting Monday) or quarter." enum:"month|week|quarter"`
}

// Section is the job file's cohorts section.
var Section = config.NewSpec("cohorts", "The cohort retention table.",
	func() Config { return Config{Period: "month"} }, nil)
