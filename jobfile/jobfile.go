// Package jobfile reads a job file against every section the nightly job
// declares: the sections of the registered stages, and those of the run
// itself (where the output goes, lineage, the warehouse sink). It is the one
// place that knows them all, so the reference in docs/config.md is
// generated here.
package jobfile

import (
	"retain/config"
	"retain/lineage"
	"retain/night"
	"retain/stages"
	"retain/warehouse/bqsink"
)

// Sections lists every section of the job file, in key order.
func Sections() ([]config.Section, error) {
	var reg night.Registry
	if err := stages.RegisterAll(&reg); err != nil {
		return nil, err
	}
	for _, s := range []config.Section{night.InputSection, night.OutputSection, lineage.Section, bqsink.Section} {
		if err := reg.AddSection(s); err != nil {
			return nil, err
		}
	}
	return reg.Sections(), nil
}

// Load reads, defaults and checks a job file.
func Load(path string) (*config.File, error) {
	s, err := Sections()
	if err != nil {
		return nil, err
	}
	return config.Load(path, s)
}

// Parse decodes a job file's bytes; dir is where relative paths resolve.
func Parse(raw []byte, dir string) (*config.File, error) {
	s, err := Sections()
	if err != nil {
		return nil, err
	}
	return config.Decode(raw, dir, s)
}
