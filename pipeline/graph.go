package pipeline

import (
	"fmt"
	"strings"
)

// Graph is the registered stages in an order where every stage comes after
// the producers of its inputs, with the consumers of each table.
type Graph struct {
	Order     []Spec
	consumers map[string][]int
	producer  map[string]string
}

// BuildGraph checks that every input has exactly one producer and that there
// is no cycle, and orders the stages. Among stages that could go next the
// registration order decides, so the order is the same on every run.
func BuildGraph(specs []Spec) (*Graph, error) {
	producer := map[string]string{}
	for _, s := range specs {
		for _, t := range s.Outputs {
			if p, ok := producer[t]; ok {
				return nil, fmt.Errorf("%w: table %q produced by both %q and %q", ErrGraph, t, p, s.Name)
			}
			producer[t] = s.Name
		}
	}
	for _, s := range specs {
		for _, t := range s.Inputs {
			if _, ok := producer[t]; !ok {
				return nil, fmt.Errorf("%w: stage %q reads table %q that no stage produces", ErrGraph, s.Name, t)
			}
		}
	}
	done := map[string]bool{}
	placed := make([]bool, len(specs))
	var order []Spec
	for len(order) < len(specs) {
		progressed := false
		for i, s := range specs {
			if placed[i] || !inputsReady(s, producer, done) {
				continue
			}
			placed[i] = true
			done[s.Name] = true
			order = append(order, s)
			progressed = true
			break
		}
		if !progressed {
			var stuck []string
			for i, s := range specs {
				if !placed[i] {
					stuck = append(stuck, s.Name)
				}
			}
			return nil, fmt.Errorf("%w: cycle among stages %s", ErrGraph, strings.Join(stuck, ", "))
		}
	}
	g := &Graph{Order: order, consumers: map[string][]int{}, producer: producer}
	for i, s := range order {
		for _, t := range s.Inputs {
			g.consumers[t] = append(g.consumers[t], i)
		}
	}
	return g, nil
}

func inputsReady(s Spec, producer map[string]string, done map[string]bool) bool {
	for _, t := range s.Inputs {
		if !done[producer[t]] {
			return false
		}
	}
	return true
}
