// Package clvconfig declares the job file's clv section. It is a package of
// its own because the horizon shapes output columns (expected_purchases_<h>d,
// p_no_purchase_<h>d) that the writer, the segments stage and the report
// must name alike, and they may not import the clv stage.
package clvconfig

import (
	"fmt"

	"retain/config"
	"retain/schemas"
)

// CLV configures predictive customer lifetime value.
type CLV struct {
	Model               string   `yaml:"model" doc:"auto fits BG/NBD, Pareto/NBD and MBG/NBD and keeps the one with the lowest holdout MAE, or the one with the highest log-likelihood unless every fitted model has a holdout score (no holdout, or a calibration fit failed); bgnbd, pareto_nbd, mbgnbd or none pick one or none." enum:"auto|bgnbd|pareto_nbd|mbgnbd|none"`
	HorizonDays         int      `yaml:"horizon_days" doc:"The window of expected_purchases_<h>d and p_no_purchase_<h>d, in days." range:"[1,3650]"`
	HorizonMonths       int      `yaml:"horizon_months" doc:"The months of value predicted_clv adds up." range:"[1,120]"`
	MonthlyDiscountRate float64  `yaml:"monthly_discount_rate" doc:"The discount applied to each month of predicted_clv." range:"[0,1)"`
	HoldoutDays         int      `yaml:"holdout_days" doc:"When positive, the models are also fitted on history before run date − N and scored against the last N days (model_holdout); retain run --holdout-days overrides it." range:"[0,3650]"`
	IntervalLevel       float64  `yaml:"interval_level" doc:"The two-sided level of the parameter intervals in model_fit (<param>_low, <param>_high) and of the per-customer prediction intervals (p_alive_low … predicted_clv_high)." range:"(0,1)"`
	IntervalDraws       int      `yaml:"interval_draws" doc:"Parameter draws behind the per-customer prediction intervals when they are drawn (interval_method); more draws steady the bounds and cost time in proportion. 0 leaves those columns null (model_fit's parameter intervals are still computed). The draws' seed is fixed, so a rerun writes the same bounds." range:"[0,10000]"`
	IntervalMethod      string   `yaml:"interval_method" doc:"How the parameters' uncertainty reaches the per-customer intervals: draws recomputes every prediction under interval_draws parameter draws and takes quantiles; linear is the delta method (on the logit scale for p_alive, the log scale for purchases and CLV) from two evaluations per parameter; auto (the default) is linear when every log-parameter's standard error is at most 0.05, as it is from some 50,000 customers up, where it is both closer to the draws' own limit than 200 draws are and a small fraction of their cost, and draws otherwise. model_fit.prediction_interval_method says which ran." enum:"auto|draws|linear"`
	MarginRate          *float64 `yaml:"margin_rate" doc:"The share of net revenue the shop keeps after the cost of the goods; when set, predicted_clv_margin = predicted_clv × margin_rate, and when unset (the default) that column is null. With margin.item_costs it is the fallback for customers without costed item lines." range:"(0,1]"`
	DriftThreshold      float64  `yaml:"drift_threshold" doc:"A model_fit row is_drifted, and the run logs a warning naming the parameters, when any parameter moved by more than this share of its value on the previous night: |now − before| / |before|. A broken upstream feed shows here even when the row counts look normal." range:"(0,+Inf)"`
	MinCustomers        int      `yaml:"min_customers" doc:"The fewest customers a model is fitted on: four parameters from a handful of histories would only produce confident nonsense, so smaller shops get null predictions and model_fit says why." range:"[1,2147483647]"`
}

// Section is the job file's clv section.
var Section = config.NewSpec("clv", "Predictive customer lifetime value: the purchase and spend models and their horizons.",
	func() CLV {
		return CLV{Model: "auto", HorizonDays: 90, HorizonMonths: 12, MonthlyDiscountRate: 0.01, IntervalLevel: 0.8, IntervalDraws: 200, IntervalMethod: "auto", MinCustomers: 100, DriftThreshold: 0.25}
	}, func(c *CLV, _ config.Env) error {
		// A quantile of one draw is no interval.
		if c.IntervalDraws == 1 {
			return fmt.Errorf("clv.interval_draws: 1 is too few: 0 (off) or at least 2")
		}
		return nil
	})

// Of is the job's clv section.
func Of(f *config.File) *CLV { return Section.Of(f) }

// Layout is what in the job shapes output columns.
func Layout(f *config.File) schemas.Layout { return schemas.Layout{HorizonDays: Of(f).HorizonDays} }
