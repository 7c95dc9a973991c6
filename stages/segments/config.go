package segments

import "retain/stages/segments/segmentsconfig"

// The segments section is declared in segmentsconfig, which the other
// stages read segments.change_tracking from; these names keep the stage's
// own code and its callers short.
type (
	// Config is the segments section.
	Config = segmentsconfig.Config
	// Rule is one segment rule.
	Rule = segmentsconfig.Rule
)

// Section is the job file's segments section.
var Section = segmentsconfig.Section

// DefaultRules is the default R×F grid.
var DefaultRules = segmentsconfig.DefaultRules

// DefaultSinceLookbackDays is segments.since_lookback_days unless the job
// sets it.
const DefaultSinceLookbackDays = segmentsconfig.DefaultSinceLookbackDays
