package main

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
)

const sample = `goos: linux
goarch: amd64
pkg: retain/bench/job
cpu: AMD EPYC
BenchmarkNightly1MCustomers-2     	       1	61472077104 ns/op	      1600 RSS-B/customer	   1000000 customers	  10596286 orders	      1525.9 peak-RSS-MB	         3.000 runs	        30.74 wall-s
--- BENCH: BenchmarkNightly1MCustomers-2
    job_test.go:181: run 1: 29.7 s, 187 MB peak RSS
BenchmarkNightly2MCustomers-2     	       1	9706133126 ns/op	      1680 RSS-B/customer	   2000000 customers	    31935 orders	        3204.4 peak-RSS-MB	         3.000 runs	         60.5 wall-s
BenchmarkOrdersOnly1MVsDuckDB-2   	       1	16971351330 ns/op	       3800 duckdb-RSS-MB	         23.5 duckdb-s	       1300 retain-RSS-MB	         25.4 retain-s	         1.081 retain/duckdb	         3.000 runs
BenchmarkChangeTracking1M-2   	       1	99000000000 ns/op	        30.2 tracked-s	        24.8 untracked-s	         1.218 tracked/untracked	        52.1 tracked-cpu-s	        41.0 untracked-cpu-s	      2950 tracked-RSS-MB	      2700 untracked-RSS-MB	         3.000 runs
PASS
ok  	retain/bench/job	133.298s
goos: linux
pkg: retain/btyd
BenchmarkFitAndPredict1M-2   	       3	 1100000000 ns/op
BenchmarkFit1M/bgnbd-2       	       3	  250000000 ns/op
BenchmarkFit1M/pareto_nbd-2  	       3	 2000000000 ns/op
BenchmarkGenShopFit1M/mbgnbd-2         	       3	 216368409 ns/op	         0.3577 cpu-s
BenchmarkGenShopCLV1M/pareto_nbd-2    	       3	1897661487 ns/op	         3.113 cpu-s	         1.015 fit-s
ok  	retain/btyd	20.1s
`

func TestParse(t *testing.T) {
	r := results{}
	if err := r.parse(strings.NewReader(sample)); err != nil {
		t.Fatal(err)
	}
	want := results{
		"job/Nightly1MCustomers": {"ns/op": 61472077104, "RSS-B/customer": 1600, "customers": 1e6, "orders": 10596286, "peak-RSS-MB": 1525.9, "runs": 3, "wall-s": 30.74},
		"job/Nightly2MCustomers": {"ns/op": 9706133126, "RSS-B/customer": 1680, "customers": 2e6, "orders": 31935, "peak-RSS-MB": 3204.4, "runs": 3, "wall-s": 60.5},
		"job/OrdersOnly1MVsDuckDB": {"ns/op": 16971351330, "duckdb-RSS-MB": 3800, "duckdb-s": 23.5, "retain-RSS-MB": 1300,
			"retain-s": 25.4, "retain/duckdb": 1.081, "runs": 3},
		"job/ChangeTracking1M": {"ns/op": 99e9, "tracked-s": 30.2, "untracked-s": 24.8, "tracked/untracked": 1.218, "tracked-cpu-s": 52.1,
			"untracked-cpu-s": 41.0, "tracked-RSS-MB": 2950, "untracked-RSS-MB": 2700, "runs": 3},
		"btyd/FitAndPredict1M":         {"ns/op": 1.1e9},
		"btyd/Fit1M/bgnbd":             {"ns/op": 2.5e8},
		"btyd/Fit1M/pareto_nbd":        {"ns/op": 2e9},
		"btyd/GenShopFit1M/mbgnbd":     {"ns/op": 216368409, "cpu-s": 0.3577},
		"btyd/GenShopCLV1M/pareto_nbd": {"ns/op": 1897661487, "cpu-s": 3.113, "fit-s": 1.015},
	}
	if !reflect.DeepEqual(r, want) {
		t.Errorf("got %v\nwant %v", r, want)
	}
}

func TestParseRejectsABadValue(t *testing.T) {
	err := results{}.parse(strings.NewReader("pkg: retain/btyd\nBenchmarkX-2 1 12x ns/op\n"))
	if err == nil || !strings.Contains(err.Error(), `benchmark X: value "12x"`) {
		t.Errorf("err = %v", err)
	}
}

func TestRender(t *testing.T) {
	r := results{}
	if err := r.parse(strings.NewReader(sample)); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	render(&b, r, host{cores: 2, memGB: 23.4, loadAvg1: "3.10"})
	// Figures by hand from sample: 1680 / 1600 = 1.05; 2e9 ns = 2.000 s.
	// The GC benchmark did not run: its rows show "-".
	want := `
retain benchmark summary (2 cores, 23 GB, load average now 3.10)

figure                                                           measured  target
full job, 1M customers: wall (median)                              30.7 s  <= 12 s
full job, 1M customers: CPU (user + system, median)                     -
full job, 1M customers: peak RSS (median)                         1526 MB  <= 800 MB
orders only, 1M: retain wall (median)                              25.4 s
orders only, 1M: DuckDB SQL wall, 2 threads (median)               23.5 s
orders only, 1M: retain / DuckDB                                     1.08  <= 0.4
orders only, 1M: retain CPU (user + system, median)                     -
orders only, 1M: DuckDB CPU (user + system, median)                     -
orders only, 1M: retain peak RSS                                  1300 MB
orders only, 1M: DuckDB (node) peak RSS                           3800 MB
full job, 2M customers: wall (median)                              60.5 s
full job, 2M customers: peak RSS (median)                         3204 MB
peak RSS per customer, 1M                                          1600 B
peak RSS per customer, 2M                                          1680 B  <= the 1M figure
peak RSS per customer, 2M / 1M                                       1.05  <= 1
change tracking, 1M: wall with it (median)                         30.2 s
change tracking, 1M: wall without it (median)                      24.8 s
change tracking, 1M: with / without                                  1.22  <= 1.3
change tracking, 1M: CPU with it (user + system, median)           52.1 s
change tracking, 1M: CPU without it (user + system, median)        41.0 s
change tracking, 1M: peak RSS with it (median)                    2950 MB
change tracking, 1M: peak RSS without it (median)                 2700 MB
GC share, full job 1M: GC time / (GOMAXPROCS x wall)                    -  < 5 %
GC share, full job 1M: GC time / process CPU (high if busy)             -  < 5 %
GC share, the same with idle marking                                    -
btyd/Fit1M/bgnbd: time per op                                     0.250 s  <= 0.3 s
btyd/Fit1M/pareto_nbd: time per op                                2.000 s  <= 1 s
btyd/FitAndPredict1M: time per op                                 1.100 s
btyd/GenShopCLV1M/pareto_nbd: time per op                         1.898 s  <= 2 s
btyd/GenShopFit1M/mbgnbd: time per op                             0.216 s  <= 0.3 s
`
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}
