// Package segmentsconfig declares the job file's segments section. It is a
// package of its own because segments.change_tracking switches the
// previous-night work off in every stage that does it (clv, actions, the
// report), and stages may not import each other.
package segmentsconfig

import (
	"fmt"
	"slices"

	"retain/config"
)

// Config configures customer_segments, segment_summary and segment_transitions.
type Config struct {
	CAC float64 `yaml:"cac" doc:"The customer acquisition cost subtracted from historical CLV." range:"[0,+Inf)"`
	// ChangeTracking is read by every stage that computes an earlier night.
	ChangeTracking bool `yaml:"change_tracking" doc:"Computes, in the same pass, the previous night and the same day of the previous kpis.period as runs for those dates would publish them: the previous_* and *_change columns of customer_segments and model_fit, segment_since_date, segment_transitions, slipped_from_top_today and p_alive_dropped_today, and the report's comparisons. false skips that work: those columns are null and is_drifted false, segment_since_date is the run date with is_segment_since_capped true, segment_transitions and those two lists are empty, and the report shows tonight's figures only. is_won_back_today and won_back_today, which need only the customer's own days, stay."`
	// SinceLookbackDays bounds segment_since_date (since.go).
	SinceLookbackDays int    `yaml:"since_lookback_days" doc:"segment_since_date looks back at most this many nights before the run date; a customer in the same segment on all of them gets the first of them and is_segment_since_capped true." range:"[1,3650]"`
	Rules             []Rule `yaml:"rules" doc:"Segments named by RFM score ranges; the first matching rule wins and a customer matching none is Other. The default is the R×F grid common in RFM practice, with its Hibernating cell split by recency into Hibernating (R 2) and Lost (R 1); M is not used by default."`
}

// Rule matches customers whose scores lie in the inclusive ranges.
type Rule struct {
	Name string `yaml:"name" doc:"The segment's name, as rfm_segment shows it."`
	R    [2]int `yaml:"r" doc:"The recency score range [low, high], within 1..5." range:"[1,5]"`
	F    [2]int `yaml:"f" doc:"The frequency score range [low, high], within 1..5." range:"[1,5]"`
	M    [2]int `yaml:"m" doc:"The monetary score range [low, high], within 1..5." range:"[1,5]"`
}

// Matches reports whether scores r, f, m fall in the rule's ranges.
func (s Rule) Matches(r, f, m int) bool {
	in := func(v int, rg [2]int) bool { return v >= rg[0] && v <= rg[1] }
	return in(r, s.R) && in(f, s.F) && in(m, s.M)
}

// DefaultRules gives every (R, F) pair exactly one of the 11 named segments.
var DefaultRules = []Rule{
	{"Champions", [2]int{5, 5}, [2]int{4, 5}, [2]int{1, 5}},
	{"Loyal Customers", [2]int{3, 4}, [2]int{4, 5}, [2]int{1, 5}},
	{"Potential Loyalist", [2]int{4, 5}, [2]int{2, 3}, [2]int{1, 5}},
	{"New Customers", [2]int{5, 5}, [2]int{1, 1}, [2]int{1, 5}},
	{"Promising", [2]int{4, 4}, [2]int{1, 1}, [2]int{1, 5}},
	{"Need Attention", [2]int{3, 3}, [2]int{3, 3}, [2]int{1, 5}},
	{"About To Sleep", [2]int{3, 3}, [2]int{1, 2}, [2]int{1, 5}},
	{"Can't Lose Them", [2]int{1, 2}, [2]int{5, 5}, [2]int{1, 5}},
	{"At Risk", [2]int{1, 2}, [2]int{3, 4}, [2]int{1, 5}},
	{"Hibernating", [2]int{2, 2}, [2]int{1, 2}, [2]int{1, 5}},
	{"Lost", [2]int{1, 1}, [2]int{1, 2}, [2]int{1, 5}},
}

// Section is the job file's segments section.
var Section = config.NewSpec("segments", "RFM segments (customer_segments, segment_summary) and historical CLV.",
	func() Config {
		return Config{Rules: slices.Clone(DefaultRules), SinceLookbackDays: DefaultSinceLookbackDays, ChangeTracking: true}
	},
	func(c *Config, _ config.Env) error {
		if len(c.Rules) == 0 {
			return fmt.Errorf("%w: segments.rules: want at least one rule (leave the key out for the default grid)", config.ErrInvalid)
		}
		for i, r := range c.Rules {
			if r.Name == "" {
				return fmt.Errorf("%w: segments.rules[%d] has no name", config.ErrInvalid, i)
			}
			for _, rg := range [][2]int{r.R, r.F, r.M} {
				if rg[0] > rg[1] {
					return fmt.Errorf("%w: segments.rules[%d] (%s): ranges must be [low, high] within 1..5", config.ErrInvalid, i, r.Name)
				}
			}
		}
		return nil
	})

// DefaultSinceLookbackDays is segments.since_lookback_days unless the job
// sets it.
const DefaultSinceLookbackDays = 90

// Of is the job's segments section.
func Of(f *config.File) *Config { return Section.Of(f) }
