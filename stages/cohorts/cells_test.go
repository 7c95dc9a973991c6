package cohorts_test

import (
	"testing"

	"retain/stages/cohorts"
	"retain/stages/internal/periodstest"
)

// TestCellsAsDays checks, on random histories under several jobs, that
// cohort_retention from the grid's cells is cohort_retention from one cell
// per purchase day: the figures the days gave, whichever way the grid cuts.
func TestCellsAsDays(t *testing.T) {
	jobs := []string{
		"",
		"cohorts: {period: week}\nkpis: {period: week, churn_days: 10}\n",
		"cohorts: {period: quarter}\nkpis: {period: quarter, churn_days: 45}\nclv: {holdout_days: 60}\n",
		"cohorts: {period: week}\nkpis: {period: month, churn_days: 20}\nsegments: {change_tracking: true, since_lookback_days: 10}\n",
		"cohorts: {period: quarter}\nkpis: {period: week, churn_days: 400}\nsegments: {change_tracking: false}\n",
		"cohorts: {period: month}\nkpis: {period: quarter, churn_days: 120}\nclv: {holdout_days: 0}\n",
		"cohorts: {period: week}\nkpis: {period: quarter, churn_days: 200}\n",
	}
	periodstest.CheckCellsAsDays(t, cohorts.Register, jobs, []string{"2026-11-22", "2024-02-29"})
}
