package kpis

import "retain/stages/kpis/kpisconfig"

// Config configures retention_kpis; it is declared in kpisconfig, which the
// report reads too.
type Config = kpisconfig.Config

// Section is the job file's kpis section.
var Section = kpisconfig.Section
