package clv

import (
	"errors"
	"math"
	"testing"

	"retain/btyd"
)

// TestChoose: with every fitted model scored on the holdout the lowest MAE
// wins, otherwise the highest log-likelihood, whatever the order the
// models come in; a failed fit is never chosen and the reason names it.
func TestChoose(t *testing.T) {
	m := func(name string, ll, mae float64, scored bool, err error) *fitted {
		return &fitted{name: name, fit: btyd.Fit{LogLikelihood: ll}, holdMAE: mae, hasScore: scored, err: err}
	}
	failed := errors.New("no convergence")
	tests := []struct {
		name      string
		models    []*fitted
		want, why string // want "": none chosen
	}{
		{"lowest MAE of three", []*fitted{m("bgnbd", -10, 0.5, true, nil), m("pareto_nbd", -12, 0.4, true, nil), m("mbgnbd", -11, 0.3, true, nil)},
			"mbgnbd", "lowest holdout MAE (0.3000)"},
		{"tie goes to the first", []*fitted{m("bgnbd", -10, 0.3, true, nil), m("pareto_nbd", -12, 0.4, true, nil), m("mbgnbd", -9, 0.3, true, nil)},
			"bgnbd", "lowest holdout MAE (0.3000)"},
		{"no holdout: highest likelihood", []*fitted{m("bgnbd", -10, 0, false, nil), m("pareto_nbd", -9.5, 0, false, nil), m("mbgnbd", -11, 0, false, nil)},
			"pareto_nbd", "highest log-likelihood (-9.5); no holdout"},
		// Ranking a score against a likelihood would depend on the order:
		// one model without a score ranks them all by likelihood.
		{"one model unscored", []*fitted{m("bgnbd", -10, 0.2, true, nil), m("pareto_nbd", -12, 0, false, nil), m("mbgnbd", -11, 0.1, true, nil)},
			"bgnbd", "highest log-likelihood (-10.0); no holdout score for pareto_nbd"},
		{"failed fit skipped", []*fitted{m("bgnbd", 0, 0, false, failed), m("pareto_nbd", -12, 0.4, true, nil), m("mbgnbd", -11, 0.5, true, nil)},
			"pareto_nbd", "lowest holdout MAE (0.4000); bgnbd failed"},
		{"only one configured", []*fitted{m("mbgnbd", -11, 0.5, true, nil)}, "mbgnbd", "the only model configured (clv.model)"},
		{"all failed", []*fitted{m("bgnbd", 0, 0, false, failed), m("pareto_nbd", 0, 0, false, failed), m("mbgnbd", 0, 0, false, failed)}, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			best, why := choose(tt.models)
			got := ""
			if best != nil {
				got = best.name
			}
			if got != tt.want || why != tt.why {
				t.Errorf("chose %q (%q), want %q (%q)", got, why, tt.want, tt.why)
			}
		})
	}
}

// TestNextOrderDate: the date is the first whole day by which the odds
// reach even, and there is none without a model, without even odds or
// beyond 100 years.
func TestNextOrderDate(t *testing.T) {
	const run = 20_000
	tests := []struct {
		h    float64
		want int32
		ok   bool
	}{
		{0.001, run + 1, true},
		{1, run + 1, true},
		{1.0000001, run + 2, true},
		{53.33, run + 54, true},
		{maxNextOrderDays, run + maxNextOrderDays, true},
		{maxNextOrderDays + 0.5, 0, false},
		{math.Inf(1), 0, false},
		{math.NaN(), 0, false},
		{0, 0, false},
	}
	for _, tt := range tests {
		if got, ok := nextOrderDate(run, tt.h); got != tt.want || ok != tt.ok {
			t.Errorf("nextOrderDate(%v) = %d, %v; want %d, %v", tt.h, got, ok, tt.want, tt.ok)
		}
	}
}
