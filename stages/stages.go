// Package stages registers every stage of the nightly job. Adding a stage is
// a new package under stages/ with a Register function and one line here.
package stages

import (
	"errors"

	"retain/night"
	"retain/stages/actions"
	"retain/stages/affinity"
	"retain/stages/audiences"
	"retain/stages/bqsource"
	"retain/stages/clv"
	"retain/stages/cohorts"
	"retain/stages/customersummary"
	"retain/stages/extract"
	"retain/stages/kpis"
	"retain/stages/load"
	"retain/stages/margin"
	"retain/stages/report"
	"retain/stages/segments"
	"retain/stages/validate"
	"retain/warehouse/bqclient"
)

// Options configure stages that talk to other systems.
type Options struct {
	// BigQuery adds client options for reading inputs from BigQuery.
	BigQuery bqclient.Options
}

// RegisterAll adds every stage to r.
func RegisterAll(r *night.Registry) error { return RegisterAllWith(r, Options{}) }

// RegisterAllWith adds every stage to r, configured by o.
func RegisterAllWith(r *night.Registry, o Options) error {
	// Pushdown converting with rates from files reads them as validate
	// does, with validate's reader; files need no warehouse.
	rates := validate.FileRates(extract.ReadAll)
	return errors.Join(
		extract.Register(r, bqsource.New(o.BigQuery, rates)),
		validate.Register(r, extract.SideInputs(bqsource.ReadTable(o.BigQuery, rates))),
		extract.RegisterItems(r, bqsource.ReadTable(o.BigQuery, rates)),
		affinity.Register(r),
		margin.Register(r),
		customersummary.Register(r),
		clv.Register(r),
		actions.Register(r),
		segments.Register(r),
		cohorts.Register(r),
		kpis.Register(r),
		report.Register(r),
		audiences.Register(r),
		load.Register(r),
	)
}
