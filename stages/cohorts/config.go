package cohorts

import "retain/stages/cohorts/cohortsconfig"

// Config configures cohort_retention; it is declared in cohortsconfig, which
// the grid of customer_periods reads too.
type Config = cohortsconfig.Config

// Section is the job file's cohorts section.
var Section = cohortsconfig.Section
