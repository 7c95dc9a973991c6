package engine

import (
	"fmt"
	"slices"
	"strings"
)

// Graph is the declared stages in an order where every stage comes after
// the producers of its inputs, the stages it runs after and the providers of
// what it needs, with the consumers of each table.
type Graph[E any] struct {
	Order     []Spec[E]
	consumers map[string][]int
	// provider is the index of the stage that provides each key; needers
	// the stages that need it.
	provider map[string]int
	needers  map[string][]int
}

// BuildGraph checks the declarations and orders the stages. Every input
// needs a producer, every After a stage, every Needs one provider, and
// there must be no cycle. A stage comes after every producer of each table
// it reads, so its Finish starts once all of them have finished, after the
// stages in its After, and after the providers of its Needs; the producers
// of its inputs also come after those providers, so no batch reaches it
// before the value it needs exists. Among stages that could go next the
// smallest name goes first: the order depends on the specs alone, not on
// the order they were registered in.
func BuildGraph[E any](specs []Spec[E]) (*Graph[E], error) {
	index := map[string]int{}
	for i, s := range specs {
		if _, ok := index[s.Name]; ok {
			return nil, fmt.Errorf("%w: stage %q registered twice", ErrGraph, s.Name)
		}
		index[s.Name] = i
	}
	producers := map[string][]int{}
	provider := map[string]int{}
	artifacts := map[string]int{}
	for i, s := range specs {
		for _, t := range s.Outputs {
			producers[t] = append(producers[t], i)
		}
		for _, k := range s.Provides {
			if j, ok := provider[k]; ok {
				return nil, fmt.Errorf("%w: stages %q and %q both provide %q", ErrGraph, specs[j].Name, s.Name, k)
			}
			provider[k] = i
		}
		for _, a := range s.Artifacts {
			if j, ok := artifacts[a]; ok {
				return nil, fmt.Errorf("%w: stages %q and %q both write artifact %q", ErrGraph, specs[j].Name, s.Name, a)
			}
			artifacts[a] = i
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
		for _, k := range s.Needs {
			p, ok := provider[k]
			if !ok {
				return nil, fmt.Errorf("%w: stage %q needs %q that no stage provides", ErrGraph, s.Name, k)
			}
			deps[i] = append(deps[i], p)
			for _, t := range s.Inputs {
				for _, q := range producers[t] {
					if q == p {
						return nil, fmt.Errorf("%w: stage %q needs %q from %q, which also feeds it table %q before finishing", ErrGraph, s.Name, k, specs[p].Name, t)
					}
					deps[q] = append(deps[q], p)
				}
			}
		}
	}
	placed := make([]bool, len(specs))
	pos := make([]int, len(specs))
	order := make([]Spec[E], 0, len(specs))
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
		pos[next] = len(order)
		order = append(order, specs[next])
	}
	g := &Graph[E]{Order: order, consumers: map[string][]int{}, provider: map[string]int{}, needers: map[string][]int{}}
	for i, s := range order {
		for _, t := range s.Inputs {
			g.consumers[t] = append(g.consumers[t], i)
		}
		for _, k := range s.Needs {
			g.needers[k] = append(g.needers[k], i)
		}
	}
	for k, p := range provider {
		g.provider[k] = pos[p]
	}
	return g, nil
}

// Consumers names the stages that read table, in graph order.
func (g *Graph[E]) Consumers(table string) []string {
	var out []string
	for _, i := range g.consumers[table] {
		out = append(out, g.Order[i].Name)
	}
	return out
}

// Producers names the stages that emit table, in graph order.
func (g *Graph[E]) Producers(table string) []string {
	var out []string
	for _, s := range g.Order {
		if slices.Contains(s.Outputs, table) {
			out = append(out, s.Name)
		}
	}
	return out
}
