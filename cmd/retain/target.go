package main

import (
	"path/filepath"

	"retain/config"
	"retain/jobfile"
	"retain/night"
	"retain/schemas"
	"retain/stages/actions/actionsconfig"
	"retain/stages/clv/clvconfig"
	"retain/stages/segments"
	"retain/warehouse/bqsink"
)

// target is what a job file says about its tables that the schema exports
// and the views name: the columns its settings shape, where the tables
// land, and the values its segment and tier names allow.
type target struct {
	layout schemas.Layout
	// sink is the job's BigQuery sink, nil when it has none.
	sink *bqsink.Config
	// output is the job's output.path, as the job file resolves it.
	output         string
	acceptedValues map[string][]string
}

// defaultJob is a job file that sets nothing it need not: without --job the
// exports describe the defaults, and taking them from a decoded file keeps
// them the decoder's own.
const defaultJob = "name: default\ninput:\n  orders:\n    path: orders\n"

// loadTarget reads the job file at path, or the defaults when path is empty.
func loadTarget(path string) (target, error) {
	var j *config.File
	var err error
	if path == "" {
		j, err = jobfile.Parse([]byte(defaultJob), ".")
	} else {
		j, err = jobfile.Load(path)
	}
	if err != nil {
		return target{}, err
	}
	t := target{layout: clvconfig.Layout(j), sink: *bqsink.Section.Of(j), acceptedValues: map[string][]string{}}
	if path != "" {
		t.output = night.OutputSection.Of(j).Path
	}
	var names []string
	for _, r := range segments.Section.Of(j).Rules {
		names = appendNew(names, r.Name)
	}
	t.acceptedValues["rfm_segment"] = appendNew(names, segments.Other)
	t.acceptedValues["previous_rfm_segment"] = t.acceptedValues["rfm_segment"]
	t.acceptedValues["to_segment"] = t.acceptedValues["rfm_segment"]
	t.acceptedValues["from_segment"] = append([]string{schemas.NewSegment}, t.acceptedValues["rfm_segment"]...)
	var tiers []string
	for _, l := range actionsconfig.Section.Of(j).Tiers.Levels {
		tiers = appendNew(tiers, l.Name)
	}
	t.acceptedValues["loyalty_tier"] = tiers
	t.acceptedValues["next_tier"] = tiers
	t.acceptedValues["winback_stage"] = schemas.WinbackStages
	t.acceptedValues["previous_winback_stage"] = schemas.WinbackStages
	t.acceptedValues["churn_risk"] = schemas.ChurnRisks
	return t, nil
}

// appendNew appends v unless list holds it: two rules may name one segment.
func appendNew(list []string, v string) []string {
	for _, s := range list {
		if s == v {
			return list
		}
	}
	return append(list, v)
}

// prefix is the sink's table prefix, empty without a sink.
func (t target) prefix() string {
	if t.sink == nil {
		return ""
	}
	return t.sink.TablePrefix
}

// dbt is the sources.yml a job's tables need: with a sink, its project,
// dataset and prefixed names; with file outputs, each table's location.
// source and schema are the flags; schemaSet says --dbt-schema was given,
// which wins over the sink's dataset.
func (t target) dbt(source, schema string, schemaSet bool) (schemas.DBTOptions, error) {
	o := schemas.DBTOptions{Source: source, Schema: schema, Layout: t.layout, AcceptedValues: t.acceptedValues}
	switch {
	case t.sink != nil:
		o.Database, o.TablePrefix = t.sink.Project, t.sink.TablePrefix
		if !schemaSet {
			o.Schema = t.sink.Dataset
		}
	case t.output != "":
		// dbt runs from its own project folder, so a relative root would
		// resolve against the wrong place.
		abs, err := filepath.Abs(t.output)
		if err != nil {
			return o, err
		}
		o.OutputRoot = abs
	}
	return o, nil
}
