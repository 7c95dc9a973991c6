package config_test

import (
	"errors"
	"fmt"
	"time"

	"retain/config"
)

// The sections below are shaped like retain's own, so the tests exercise
// what the stages will declare: nested objects, nullable objects, lists and
// maps of numbers, enums, pointers and cross-field checks.

type clv struct {
	Model               string  `yaml:"model" doc:"Which model predicts: the better of both on the holdout (auto), one of them, or none." enum:"auto|bgnbd|pareto_nbd|none"`
	HorizonDays         int     `yaml:"horizon_days" doc:"Window of expected_purchases_<h>d." range:"[1,3650]"`
	HorizonMonths       int     `yaml:"horizon_months" doc:"Months of predicted_clv." range:"[1,120]"`
	MonthlyDiscountRate float64 `yaml:"monthly_discount_rate" doc:"Discounts each month of predicted_clv." range:"[0,1)"`
	HoldoutDays         *int    `yaml:"holdout_days" doc:"When set, also fits on history before run date − N and scores the last N days." range:"[0,3650]"`
}

var clvSpec = config.NewSpec("clv", "Predictive customer lifetime value.",
	func() clv { return clv{Model: "auto", HorizonDays: 90, HorizonMonths: 12, MonthlyDiscountRate: 0.01} }, nil)

type actions struct {
	WinbackDays       []int     `yaml:"winback_days" doc:"Days since the last order at which a customer enters winback_1, winback_2, winback_3 and lapsed." range:"[1,36500]"`
	Milestones        []int     `yaml:"milestones" doc:"Order counts celebrated." range:"[1,2147483647]"`
	TopSpenderPercent float64   `yaml:"top_spender_percent" doc:"Top share of customers by revenue | marked as top spenders." range:"(0,100]"`
	Tiers             tiers     `yaml:"tiers" doc:"Loyalty levels."`
	ChurnRisk         churnRisk `yaml:"churn_risk" doc:"Cut-offs of churn_risk."`
}

type tiers struct {
	Basis  string `yaml:"basis" doc:"What a level's min is measured in." enum:"lifetime_spend|trailing_12m_spend|orders"`
	Levels []tier `yaml:"levels" doc:"Levels in increasing min order."`
}

type tier struct {
	Name string  `yaml:"name" doc:"The level's name."`
	Min  float64 `yaml:"min" doc:"Where the level starts." range:"[0,+Inf)"`
}

type churnRisk struct {
	PAliveHigh   float64 `yaml:"p_alive_high" doc:"High risk below this p_alive." range:"[0,1]"`
	PAliveMedium float64 `yaml:"p_alive_medium" doc:"Medium risk below this p_alive." range:"[0,1]"`
	MinOrders    int     `yaml:"min_orders" doc:"Orders a customer needs before the gap rule applies." range:"[1,1000]"`
}

// winbackDefault is shared on purpose: the package must copy defaults so
// that one file's changes cannot reach another's.
var winbackDefault = []int{90, 180, 270, 365}

var actionsSpec = config.NewSpec("actions", "Per-customer columns marketers act on.",
	func() actions {
		return actions{
			WinbackDays:       winbackDefault,
			Milestones:        []int{5, 10, 25, 50, 100},
			TopSpenderPercent: 10,
			Tiers:             tiers{Basis: "lifetime_spend", Levels: []tier{{"Bronze", 0}, {"Silver", 500}, {"Gold", 2000}}},
			ChurnRisk:         churnRisk{PAliveHigh: 0.3, PAliveMedium: 0.7, MinOrders: 2},
		}
	},
	func(a *actions, _ config.Env) error {
		w := a.WinbackDays
		if len(w) != 4 || w[0] >= w[1] || w[1] >= w[2] || w[2] >= w[3] {
			return fmt.Errorf("%w: actions.winback_days %v: want 4 increasing day counts", config.ErrInvalid, w)
		}
		if a.ChurnRisk.PAliveHigh >= a.ChurnRisk.PAliveMedium {
			return fmt.Errorf("%w: actions.churn_risk: want p_alive_high < p_alive_medium", config.ErrInvalid)
		}
		return nil
	})

type kpis struct {
	Period             string             `yaml:"period" doc:"The reporting period." enum:"month|week|quarter"`
	ChurnDays          int                `yaml:"churn_days" doc:"Days without an order that make a customer churned." range:"[1,3650]"`
	ChurnDaysBySegment map[string]int     `yaml:"churn_days_by_segment" doc:"Overrides churn_days per segment." range:"[1,3650]"`
	RetentionSpend     map[string]float64 `yaml:"retention_spend" doc:"Retention spend per period, keyed by the period's start date (YYYY-MM-DD)." range:"[0,+Inf)"`
}

var kpisSpec = config.NewSpec("kpis", "The retention KPI table.",
	func() kpis { return kpis{Period: "month", ChurnDays: 180} },
	func(k *kpis, _ config.Env) error {
		for d := range k.RetentionSpend {
			if _, err := time.Parse(time.DateOnly, d); err != nil {
				return fmt.Errorf("%w: kpis.retention_spend key %q: want the period's start date YYYY-MM-DD", config.ErrInvalid, d)
			}
		}
		return nil
	})

type validate struct {
	CountedStatuses []string `yaml:"counted_statuses" doc:"Order statuses that count as purchases."`
	MaxVolumeDrop   float64  `yaml:"max_volume_drop" doc:"Share by which rows read may fall before the run fails." range:"[0,1]"`
	MaxAmount       float64  `yaml:"max_amount" doc:"Largest order amount used." range:"(0,+Inf)"`
}

var validateSpec = config.NewSpec("validate", "Which orders count.",
	func() validate {
		return validate{CountedStatuses: []string{"completed"}, MaxVolumeDrop: 0.5, MaxAmount: 1e9}
	}, nil)

type input struct {
	Orders            source  `yaml:"orders" doc:"The orders table."`
	OrderItems        *source `yaml:"order_items" doc:"The order items table; without it there is no product affinity."`
	ReportingCurrency string  `yaml:"reporting_currency" doc:"Currency of every money column."`
}

type source struct {
	Path    string            `yaml:"path" doc:"A file, a folder or a glob, relative to the job file."`
	Format  string            `yaml:"format" doc:"File format; empty means by extension." enum:"|parquet|csv"`
	Columns map[string]string `yaml:"columns" doc:"Canonical column names to the shop's own."`
	CSV     csvOptions        `yaml:"csv" doc:"Options for CSV files."`
}

// Defaults gives a source the file sets its CSV options, also when the
// source is optional and absent from the defaults.
func (source) Defaults() source {
	return source{CSV: csvOptions{Delimiter: ",", NullValues: []string{"", "NULL"}, MaxMalformedShare: 0.01}}
}

type csvOptions struct {
	Delimiter         string   `yaml:"delimiter" doc:"Field separator, one character."`
	NullValues        []string `yaml:"null_values" doc:"Cell texts read as null."`
	MaxMalformedShare float64  `yaml:"max_malformed_share" doc:"Share of malformed records before the file fails." range:"[0,1]"`
}

var inputSpec = config.NewSpec("input", "The source tables; only orders is required.",
	func() input { return input{Orders: source{}.Defaults()} },
	func(in *input, env config.Env) error {
		if in.Orders.Path == "" {
			return fmt.Errorf("%w: input.orders.path is required", config.ErrInvalid)
		}
		in.Orders.Path = env.Resolve(in.Orders.Path)
		if in.OrderItems != nil {
			if in.OrderItems.Path == "" {
				return fmt.Errorf("%w: input.order_items.path is required", config.ErrInvalid)
			}
			in.OrderItems.Path = env.Resolve(in.OrderItems.Path)
		}
		return nil
	})

type audiences struct {
	Enabled *bool    `yaml:"enabled" doc:"Turns the lists off when false."`
	Lists   []string `yaml:"lists" doc:"The audiences to write." enum:"new_customers|tier_upgrades|lapsed_entered_today"`
}

var audiencesSpec = config.NewSpec("audiences", "Customer lists written as CSV.",
	func() audiences {
		on := true
		return audiences{Enabled: &on, Lists: []string{"new_customers", "tier_upgrades", "lapsed_entered_today"}}
	}, nil)

// sink is a section that is absent unless the file sets it.
type sink struct {
	Kind    string `yaml:"kind" doc:"The warehouse." enum:"bigquery"`
	Project string `yaml:"project" doc:"Project to load into."`
	Dataset string `yaml:"dataset" doc:"Dataset to load into."`
}

// Defaults fills in what a sink the file sets may leave out.
func (sink) Defaults() sink { return sink{Kind: "bigquery", Dataset: "retain"} }

var sinkSpec = config.NewSpec[*sink]("sink", "Also loads every committed table into a warehouse.", nil,
	func(s **sink, _ config.Env) error {
		if *s != nil && (*s).Project == "" {
			return errors.New("sink.project is required") // Decode adds ErrInvalid
		}
		return nil
	})

var sections = []config.Section{clvSpec, actionsSpec, kpisSpec, validateSpec, inputSpec, audiencesSpec, sinkSpec}
