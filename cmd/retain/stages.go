package main

import (
	"flag"
	"fmt"
	"io"
	"strings"

	"retain/config"
	"retain/engine"
	"retain/jobfile"
	"retain/night"
	"retain/stages"
)

// listStages prints the stage graph in run order: what each stage reads,
// writes, waits for, hands over and needs, so a newcomer sees the whole job
// without reading the packages.
func listStages(fs *flag.FlagSet) func(stdout, stderr io.Writer) error {
	return func(stdout, _ io.Writer) error {
		if fs.NArg() > 0 {
			return fmt.Errorf("%w: stages takes no arguments", errUsage)
		}
		var reg night.Registry
		if err := stages.RegisterAll(&reg); err != nil {
			return err
		}
		g, err := engine.BuildGraph(reg.Specs())
		if err != nil {
			return err
		}
		return describe(stdout, g, &reg)
	}
}

// printConfig writes the job-file reference (docs/config.md) from the
// sections every stage and the run declare.
func printConfig(fs *flag.FlagSet) func(stdout, stderr io.Writer) error {
	return func(stdout, _ io.Writer) error {
		if fs.NArg() > 0 {
			return fmt.Errorf("%w: config takes no arguments", errUsage)
		}
		return jobfile.WriteReference(stdout)
	}
}

func describe(w io.Writer, g *engine.Graph[*night.Context], reg *night.Registry) error {
	list := func(xs []string) string {
		if len(xs) == 0 {
			return "-"
		}
		return strings.Join(xs, ", ")
	}
	for i, s := range g.Order {
		if i > 0 {
			fmt.Fprintln(w)
		}
		fmt.Fprintf(w, "%d. %s\n   %s\n", i+1, s.Name, s.Doc)
		fmt.Fprintf(w, "   reads:      %s\n", list(s.Inputs))
		fmt.Fprintf(w, "   writes:     %s\n", list(s.Outputs))
		if len(s.After) > 0 {
			fmt.Fprintf(w, "   after:      %s\n", list(s.After))
		}
		if len(s.Provides) > 0 {
			fmt.Fprintf(w, "   provides:   %s\n", list(s.Provides))
		}
		if len(s.Needs) > 0 {
			fmt.Fprintf(w, "   needs:      %s\n", list(s.Needs))
		}
		if len(s.Artifacts) > 0 {
			fmt.Fprintf(w, "   files:      %s\n", list(s.Artifacts))
		}
		if s.Background {
			fmt.Fprintf(w, "   background: its batches are folded on a goroutine of its own\n")
		}
		for _, sec := range reg.SectionsOf(s.Name) {
			fields, err := config.Fields(sec)
			if err != nil {
				return err
			}
			// The section's own keys with their defaults; what objects,
			// lists and maps hold is in the reference.
			var keys []string
			for _, f := range fields {
				rel := strings.TrimPrefix(f.Path, sec.Key()+".")
				if strings.ContainsAny(rel, ".[<") {
					continue
				}
				if f.Default == "" || f.Default == "—" {
					keys = append(keys, rel)
				} else {
					keys = append(keys, rel+"="+f.Default)
				}
			}
			fmt.Fprintf(w, "   config:     %s: %s\n", sec.Key(), strings.Join(keys, ", "))
		}
	}
	_, err := fmt.Fprintln(w)
	return err
}
