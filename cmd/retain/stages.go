package main

import (
	"flag"
	"fmt"
	"io"
	"strings"

	"retain/engine"
	"retain/night"
	"retain/stages"
)

// listStages prints the stage graph in run order: what each stage reads,
// writes, waits for, hands over and needs, so a newcomer sees the whole job
// without reading the packages.
func listStages(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("stages", flag.ContinueOnError)
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
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
	return describe(stdout, g)
}

func describe(w io.Writer, g *engine.Graph[*night.Context]) error {
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
	}
	_, err := fmt.Fprintln(w)
	return err
}
