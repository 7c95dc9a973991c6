// Command summary prints the table at the end of `make bench`: it reads the
// output of the benchmark runs (bench/job, btyd, bench/parquetlibs), picks the
// figures issue 15 sets targets for, and prints each with its target, so the
// table is never typed by hand. A figure whose benchmark did not run (a
// -bench filter, no node) shows as "-".
//
// Usage: go run ./bench/summary FILE...
package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path"
	"runtime"
	"sort"
	"strconv"
	"strings"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: summary FILE... (go test -bench output)")
		os.Exit(2)
	}
	results := results{}
	for _, name := range os.Args[1:] {
		f, err := os.Open(name)
		if err != nil {
			fmt.Fprintln(os.Stderr, "summary:", err)
			os.Exit(1)
		}
		err = results.parse(f)
		f.Close()
		if err != nil {
			fmt.Fprintf(os.Stderr, "summary: %s: %v\n", name, err)
			os.Exit(1)
		}
	}
	render(os.Stdout, results, machine())
}

// results maps a benchmark's name to its metrics by unit (ns/op, wall-s,
// ...). The name is the package's last path element, a slash and the name
// without the "Benchmark" prefix and the -GOMAXPROCS suffix: btyd/Fit1M/bgnbd.
type results map[string]map[string]float64

// parse reads benchmark lines: name, iterations, then value-unit pairs,
// each under the "pkg:" line go test prints before them. Every other line
// (logs, PASS, goos) is skipped.
func (r results) parse(in io.Reader) error {
	sc := bufio.NewScanner(in)
	sc.Buffer(nil, 1<<20)
	pkg := ""
	for sc.Scan() {
		if p, ok := strings.CutPrefix(sc.Text(), "pkg: "); ok {
			pkg = path.Base(strings.TrimSpace(p)) + "/"
			continue
		}
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") || len(f)%2 != 0 {
			continue
		}
		if _, err := strconv.Atoi(f[1]); err != nil {
			continue
		}
		name := strings.TrimPrefix(f[0], "Benchmark")
		if i := strings.LastIndexByte(name, '-'); i > 0 {
			if _, err := strconv.Atoi(name[i+1:]); err == nil {
				name = name[:i]
			}
		}
		m := map[string]float64{}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				return fmt.Errorf("benchmark %s: value %q: %w", name, f[i], err)
			}
			m[f[i+1]] = v
		}
		r[pkg+name] = m
	}
	return sc.Err()
}

func (r results) get(name, unit string) (float64, bool) {
	v, ok := r[name][unit]
	return v, ok
}

// host is the machine the figures were taken on.
type host struct {
	cores    int
	memGB    float64 // 0 when unknown
	loadAvg1 string  // "" when unknown
}

func machine() host {
	h := host{cores: runtime.NumCPU()}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb float64
		if _, err := fmt.Sscanf(string(b), "MemTotal: %f kB", &kb); err == nil {
			h.memGB = kb / (1 << 20)
		}
	}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		if f := strings.Fields(string(b)); len(f) > 0 {
			h.loadAvg1 = f[0]
		}
	}
	return h
}

// row is one line of the table.
type row struct{ figure, value, target string }

// figure formats a metric with format, or "-" when it is missing.
func (r results) figure(name, unit, format string) string {
	if v, ok := r.get(name, unit); ok {
		return fmt.Sprintf(format, v)
	}
	return "-"
}

func rows(r results) []row {
	const full1, full2, orders, gc = "job/Nightly1MCustomers", "job/Nightly2MCustomers", "job/OrdersOnly1MVsDuckDB", "job/Nightly1MGCTrace"
	const tracking = "job/ChangeTracking1M"
	out := []row{
		{"full job, 1M customers: wall (median)", r.figure(full1, "wall-s", "%.1f s"), "<= 12 s"},
		{"full job, 1M customers: CPU (user + system, median)", r.figure(full1, "cpu-s", "%.1f s"), ""},
		{"full job, 1M customers: peak RSS (median)", r.figure(full1, "peak-RSS-MB", "%.0f MB"), "<= 800 MB"},
		{"orders only, 1M: retain wall (median)", r.figure(orders, "retain-s", "%.1f s"), ""},
		{"orders only, 1M: DuckDB SQL wall, 2 threads (median)", r.figure(orders, "duckdb-s", "%.1f s"), ""},
		{"orders only, 1M: retain / DuckDB", r.figure(orders, "retain/duckdb", "%.2f"), "<= 0.4"},
		{"orders only, 1M: retain CPU (user + system, median)", r.figure(orders, "retain-cpu-s", "%.1f s"), ""},
		{"orders only, 1M: DuckDB CPU (user + system, median)", r.figure(orders, "duckdb-cpu-s", "%.1f s"), ""},
		{"orders only, 1M: retain peak RSS", r.figure(orders, "retain-RSS-MB", "%.0f MB"), ""},
		{"orders only, 1M: DuckDB (node) peak RSS", r.figure(orders, "duckdb-RSS-MB", "%.0f MB"), ""},
		{"full job, 2M customers: wall (median)", r.figure(full2, "wall-s", "%.1f s"), ""},
		{"full job, 2M customers: peak RSS (median)", r.figure(full2, "peak-RSS-MB", "%.0f MB"), ""},
		{"peak RSS per customer, 1M", r.figure(full1, "RSS-B/customer", "%.0f B"), ""},
		{"peak RSS per customer, 2M", r.figure(full2, "RSS-B/customer", "%.0f B"), "<= the 1M figure"},
	}
	if a, ok := r.get(full1, "RSS-B/customer"); ok {
		if b, ok := r.get(full2, "RSS-B/customer"); ok {
			out = append(out, row{"peak RSS per customer, 2M / 1M", fmt.Sprintf("%.2f", b/a), "<= 1"})
		}
	}
	out = append(out,
		row{"change tracking, 1M: wall with it (median)", r.figure(tracking, "tracked-s", "%.1f s"), ""},
		row{"change tracking, 1M: wall without it (median)", r.figure(tracking, "untracked-s", "%.1f s"), ""},
		row{"change tracking, 1M: with / without", r.figure(tracking, "tracked/untracked", "%.2f"), "<= 1.3"},
		row{"change tracking, 1M: CPU with it (user + system, median)", r.figure(tracking, "tracked-cpu-s", "%.1f s"), ""},
		row{"change tracking, 1M: CPU without it (user + system, median)", r.figure(tracking, "untracked-cpu-s", "%.1f s"), ""},
		row{"change tracking, 1M: peak RSS with it (median)", r.figure(tracking, "tracked-RSS-MB", "%.0f MB"), ""},
		row{"change tracking, 1M: peak RSS without it (median)", r.figure(tracking, "untracked-RSS-MB", "%.0f MB"), ""},
		row{"GC share, full job 1M: GC time / (GOMAXPROCS x wall)", r.figure(gc, "gc-procs-%", "%.1f %%"), "< 5 %"},
		row{"GC share, full job 1M: GC time / process CPU (high if busy)", r.figure(gc, "gc-cpu-%", "%.1f %%"), "< 5 %"},
		row{"GC share, the same with idle marking", r.figure(gc, "gc-cpu-with-idle-%", "%.1f %%"), ""},
	)
	// Every benchmark of btyd and bench/parquetlibs, in name order, as
	// seconds per op: they are whatever those packages define.
	var names []string
	for name := range r {
		switch name {
		case full1, full2, orders, gc, tracking:
		default:
			names = append(names, name)
		}
	}
	sort.Strings(names)
	for _, name := range names {
		value := "-"
		if v, ok := r.get(name, "ns/op"); ok {
			value = fmt.Sprintf("%.3f s", v/1e9)
		}
		out = append(out, row{name + ": time per op", value, fitTarget(name)})
	}
	return out
}

// fitTarget is the target of a BTYD benchmark on 1M customers: issue 15's
// for a purchase model's fit alone (Fit1M on simulated customers,
// GenShopFit1M on customers shaped like retain gen's), issue 14's for the
// fit with Gamma-Gamma, intervals and every per-customer column
// (GenShopCLV1M).
func fitTarget(name string) string {
	n := strings.ToLower(name)
	switch {
	case strings.HasPrefix(n, "btyd/genshopclv1m/"):
		return "<= 2 s"
	case !strings.HasPrefix(n, "btyd/fit1m/") && !strings.HasPrefix(n, "btyd/genshopfit1m/"):
		return ""
	case strings.Contains(n, "pareto"):
		return "<= 1 s"
	case strings.Contains(n, "bgnbd"):
		return "<= 0.3 s"
	}
	return ""
}

func render(w io.Writer, r results, h host) {
	mem := "memory unknown"
	if h.memGB > 0 {
		mem = fmt.Sprintf("%.0f GB", h.memGB)
	}
	load := ""
	if h.loadAvg1 != "" {
		load = ", load average now " + h.loadAvg1
	}
	fmt.Fprintf(w, "\nretain benchmark summary (%d cores, %s%s)\n\n", h.cores, mem, load)
	rs := rows(r)
	width := len("figure")
	for _, x := range rs {
		width = max(width, len(x.figure))
	}
	fmt.Fprintf(w, "%-*s  %12s  %s\n", width, "figure", "measured", "target")
	for _, x := range rs {
		fmt.Fprintln(w, strings.TrimRight(fmt.Sprintf("%-*s  %12s  %s", width, x.figure, x.value, x.target), " "))
	}
}
