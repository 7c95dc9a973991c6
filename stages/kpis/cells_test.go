package kpis_test

import (
	"testing"

	"retain/stages/internal/periodstest"
	"retain/stages/kpis"
)

// TestCellsAsDays checks, on random histories under several jobs, that
// retention_kpis from the grid's cells is retention_kpis from one cell per
// purchase day: the figures the days gave, whichever way the grid cuts.
func TestCellsAsDays(t *testing.T) {
	jobs := []string{
		"",
		"kpis: {period: week, churn_days: 10}\n",
		"kpis: {period: quarter, churn_days: 45}\nclv: {holdout_days: 60}\n",
		"kpis: {period: month, churn_days: 20}\nsegments: {change_tracking: true, since_lookback_days: 10}\n",
		"kpis: {period: week, churn_days: 400}\nsegments: {change_tracking: false}\ncohorts: {period: quarter}\n",
		"kpis: {period: quarter, churn_days: 120}\nclv: {holdout_days: 0}\ncohorts: {period: week}\n",
	}
	periodstest.CheckCellsAsDays(t, kpis.Register, jobs, []string{"2026-11-22", "2024-02-29"})
}
