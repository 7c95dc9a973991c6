package pipeline

import (
	"fmt"
	"slices"
	"strings"
)

// Graph is the registered stages in an order where every stage comes after
// the producers of its inputs and the stages it runs after, with the
// consumers of each table.
type Graph struct {
	Order     []Spec
	consumers map[string][]int
}

// BuildGraph checks that every input has a producer, that every After names
// a stage and that there is no cycle, and orders the stages. A stage comes
// after every producer of each table it reads, so its Finish starts once
// all of them have finished, and after the stages in its After. Among
// stages that could go next the smallest name goes first: the order depends
// on the specs alone, not on the order they were registered in.
func BuildGraph(specs []Spec) (*Graph, error) {
	index := map[string]int{}
	for i, s := range specs {
		if _, ok := index[s.Name]; ok {
			return nil, fmt.Errorf("%w: stage %q registered twice", ErrGraph, s.Name)
		}
		index[s.Name] = i
	}
	producers := map[string][]int{}
	for i, s := range specs {
		for _, t := range s.Outputs {
			producers[t] = append(producers[t], i)
		}
	}
	// deps[i] are the stages that must finish before stage i's Finish.
	deps := make([][]int, len(specs))
	for i, s := range specs {
		for _, t := range s.Inputs {
			ps, ok := producers[t]
			if !ok {
				return nil, fmt.Errorf("%w: stage %q reads table %q that no stage produces", ErrGraph, s.Name, t)
			}
			deps[i] = append(deps[i], ps...)
		}
		for _, a := range s.After {
			j, ok := index[a]
			if !ok {
				return nil, fmt.Errorf("%w: stage %q runs after stage %q that is not registered", ErrGraph, s.Name, a)
			}
			deps[i] = append(deps[i], j)
		}
	}
	placed := make([]bool, len(specs))
	order := make([]Spec, 0, len(specs))
	for len(order) < len(specs) {
		next := -1
		for i, s := range specs {
			if placed[i] || slices.ContainsFunc(deps[i], func(j int) bool { return !placed[j] }) {
				continue
			}
			if next < 0 || s.Name < specs[next].Name {
				next = i
			}
		}
		if next < 0 {
			var stuck []string
			for i, s := range specs {
				if !placed[i] {
					stuck = append(stuck, s.Name)
				}
			}
			slices.Sort(stuck)
			return nil, fmt.Errorf("%w: cycle among stages %s", ErrGraph, strings.Join(stuck, ", "))
		}
		placed[next] = true
		order = append(order, specs[next])
	}
	g := &Graph{Order: order, consumers: map[string][]int{}}
	for i, s := range order {
		for _, t := range s.Inputs {
			g.consumers[t] = append(g.consumers[t], i)
		}
	}
	return g, nil
}
