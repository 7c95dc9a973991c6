// Package actionsconfig declares the job file's actions section. It is a
// package of its own because the segments stage (churn risk, top spenders)
// and the report (win-back thresholds) read it too, and stages may not
// import each other.
package actionsconfig

import (
	"fmt"
	"math"

	"retain/config"
)

// Actions configures the per-customer columns marketers act on.
type Actions struct {
	WinbackDays           []int     `yaml:"winback_days" doc:"Days since the last order at which a customer enters winback_1, winback_2, winback_3 and lapsed: four increasing counts." range:"[1,36500]"`
	DeclineWindowDays     int       `yaml:"decline_window_days" doc:"The recent window compared with the customer's earlier history." range:"[1,3650]"`
	FrequencyDeclineRatio float64   `yaml:"frequency_decline_ratio" doc:"A customer's order rate is declining below this share of their earlier rate." range:"(0,1]"`
	ValueDeclineRatio     float64   `yaml:"value_decline_ratio" doc:"A customer's order value is declining below this share of their earlier average." range:"(0,1]"`
	Tiers                 Tiers     `yaml:"tiers" doc:"Loyalty levels."`
	Milestones            []int     `yaml:"milestones" doc:"The order counts celebrated, increasing." range:"[1,2147483647]"`
	NewCustomerDays       int       `yaml:"new_customer_days" doc:"A customer is new while their first order is at most this many days old." range:"[1,3650]"`
	TopSpenderPercent     float64   `yaml:"top_spender_percent" doc:"The top share of customers by revenue marked is_top_spender." range:"(0,100]"`
	ChurnRisk             ChurnRisk `yaml:"churn_risk" doc:"The cut-offs of churn_risk."`
	WonBackDays           int       `yaml:"won_back_days" doc:"An order on the run date after at least this many days without one marks the customer is_won_back_today." range:"[1,36500]"`
}

// Tiers are loyalty levels, each reached at Min of the basis.
type Tiers struct {
	Basis  string `yaml:"basis" doc:"What a level's min is measured in." enum:"lifetime_spend|trailing_12m_spend|orders"`
	Levels []Tier `yaml:"levels" doc:"The levels, in increasing min order."`
}

// Tier is one loyalty level.
type Tier struct {
	Name string  `yaml:"name" doc:"The level's name, as loyalty_tier shows it."`
	Min  float64 `yaml:"min" doc:"Where the level starts, in the basis's unit." range:"[0,+Inf)"`
}

// ChurnRisk cut-offs: by the chance of no order over clv.horizon_days when a
// model predicted it, otherwise by days since the last order over the
// customer's typical gap between orders.
type ChurnRisk struct {
	PNoPurchaseHigh   float64 `yaml:"p_no_purchase_high" doc:"High risk at or above this p_no_purchase_<h>d, the chance of no order in the clv.horizon_days after the run date." range:"(0,1)"`
	PNoPurchaseMedium float64 `yaml:"p_no_purchase_medium" doc:"Medium risk at or above this p_no_purchase_<h>d; below p_no_purchase_high." range:"(0,1)"`
	GapHigh           float64 `yaml:"gap_high" doc:"Without a prediction: high risk above this many typical gaps since the last order." range:"(0,1000]"`
	GapMedium         float64 `yaml:"gap_medium" doc:"Without a prediction: medium risk above this many typical gaps since the last order." range:"(0,1000]"`
}

// Section is the job file's actions section.
var Section = config.NewSpec("actions", "Win-back stages, declining behaviour, loyalty tiers, milestones, new customers, top spenders and churn risk per customer.",
	func() Actions {
		return Actions{
			WinbackDays:       []int{90, 180, 270, 365},
			DeclineWindowDays: 90, FrequencyDeclineRatio: 0.5, ValueDeclineRatio: 0.8,
			Tiers:             Tiers{Basis: "lifetime_spend", Levels: []Tier{{"Bronze", 0}, {"Silver", 500}, {"Gold", 2000}, {"Platinum", 5000}}},
			Milestones:        []int{5, 10, 25, 50, 100},
			NewCustomerDays:   30,
			TopSpenderPercent: 10,
			ChurnRisk:         ChurnRisk{PNoPurchaseHigh: 0.8, PNoPurchaseMedium: 0.5, GapHigh: 3, GapMedium: 1.5},
			WonBackDays:       90,
		}
	}, check)

// Of is the job's actions section.
func Of(f *config.File) *Actions { return Section.Of(f) }

func check(a *Actions, _ config.Env) error {
	w := a.WinbackDays
	if len(w) != 4 || w[0] >= w[1] || w[1] >= w[2] || w[2] >= w[3] {
		return fmt.Errorf("%w: actions.winback_days %v: want 4 increasing day counts from 1 (winback_1, winback_2, winback_3, lapsed)", config.ErrInvalid, w)
	}
	if len(a.Tiers.Levels) == 0 {
		return fmt.Errorf("%w: actions.tiers.levels: want at least one level", config.ErrInvalid)
	}
	for i, l := range a.Tiers.Levels {
		if l.Name == "" {
			return fmt.Errorf("%w: actions.tiers.levels[%d] has no name", config.ErrInvalid, i)
		}
		// An order count is whole: a level at 2.5 orders would be reached
		// at 3, and orders_to_next_tier could not say how far it is.
		if a.Tiers.Basis == "orders" && l.Min != math.Trunc(l.Min) {
			return fmt.Errorf("%w: actions.tiers.levels[%d].min: %v is not a whole number of orders (tiers.basis is orders)", config.ErrInvalid, i, l.Min)
		}
		if i > 0 && l.Min <= a.Tiers.Levels[i-1].Min {
			return fmt.Errorf("%w: actions.tiers.levels must be in increasing min order (%s after %s)", config.ErrInvalid, l.Name, a.Tiers.Levels[i-1].Name)
		}
	}
	if len(a.Milestones) == 0 {
		return fmt.Errorf("%w: actions.milestones: want at least one order count", config.ErrInvalid)
	}
	for i := 1; i < len(a.Milestones); i++ {
		if a.Milestones[i] <= a.Milestones[i-1] {
			return fmt.Errorf("%w: actions.milestones must be increasing (%d after %d)", config.ErrInvalid, a.Milestones[i], a.Milestones[i-1])
		}
	}
	c := a.ChurnRisk
	if c.PNoPurchaseMedium >= c.PNoPurchaseHigh || c.GapMedium >= c.GapHigh {
		return fmt.Errorf("%w: actions.churn_risk: want p_no_purchase_medium < p_no_purchase_high and gap_medium < gap_high", config.ErrInvalid)
	}
	return nil
}
