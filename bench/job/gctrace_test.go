package job_test

import (
	"bufio"
	"bytes"
	"regexp"
	"strconv"
	"testing"
	"time"
)

// gcTrace sums the lines GODEBUG=gctrace=1 writes, one per GC cycle:
//
//	gc 61 @2.774s 14%: 1.4+16+0.004 ms clock, 2.9+10/4.2/0.68+0.009 ms cpu, ...
//
// whose CPU part is sweep termination (stop the world) + assist / background /
// idle marking + mark termination (stop the world).
type gcTrace struct {
	cycles int
	// cpu is the collector's CPU time without idle marking, which runs only
	// on a processor that has nothing else to do.
	cpu time.Duration
	// idle is the idle marking time.
	idle time.Duration
	// percent is the last line's own estimate of the share of time spent in
	// GC since the program started.
	percent int
	// procs is GOMAXPROCS, from the last line.
	procs int
}

var gcLine = regexp.MustCompile(`^gc \d+ @[0-9.]+s (\d+)%: [^,]+ ms clock, ([0-9.]+)\+([0-9.]+)/([0-9.]+)/([0-9.]+)\+([0-9.]+) ms cpu, .* (\d+) P`)

// parseGCTrace reads a child's stderr, skipping the lines that are not
// gctrace's (the job's own JSON log).
func parseGCTrace(stderr []byte) gcTrace {
	var t gcTrace
	sc := bufio.NewScanner(bytes.NewReader(stderr))
	sc.Buffer(nil, 1<<20)
	ms := func(s string) time.Duration {
		v, _ := strconv.ParseFloat(s, 64) // the pattern admits only numbers
		return time.Duration(v * float64(time.Millisecond))
	}
	for sc.Scan() {
		m := gcLine.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		t.cycles++
		t.percent, _ = strconv.Atoi(m[1])
		t.cpu += ms(m[2]) + ms(m[3]) + ms(m[4]) + ms(m[6])
		t.idle += ms(m[5])
		t.procs, _ = strconv.Atoi(m[7])
	}
	return t
}

func TestParseGCTrace(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want gcTrace
	}{
		{"none", `{"level":"info","message":"run started"}` + "\n", gcTrace{}},
		{"two cycles among log lines", `{"level":"info","message":"run started"}
gc 1 @0.012s 2%: 0.010+0.25+0.003 ms clock, 0.020+0.10/0.20/0.05+0.006 ms cpu, 4->4->0 MB, 4 MB goal, 0 MB stacks, 0 MB globals, 2 P
{"level":"info","message":"stage done"}
gc 61 @2.774s 14%: 1.4+16+0.004 ms clock, 2.9+10/4.2/0.68+0.009 ms cpu, 43->47->30 MB, 47 MB goal, 0 MB stacks, 0 MB globals, 2 P
`, gcTrace{
			cycles:  2,
			cpu:     time.Duration((0.020 + 0.10 + 0.20 + 0.006 + 2.9 + 10 + 4.2 + 0.009) * float64(time.Millisecond)),
			idle:    time.Duration((0.05 + 0.68) * float64(time.Millisecond)),
			percent: 14,
			procs:   2,
		}},
		{"forced cycle", "gc 7 @1.5s 3%: 0.1+2+0.01 ms clock, 0.2+1/3/0+0.02 ms cpu, 10->10->5 MB, 12 MB goal, 0 MB stacks, 0 MB globals, 2 P (forced)\n",
			gcTrace{cycles: 1, cpu: time.Duration(4.22 * float64(time.Millisecond)), percent: 3, procs: 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := parseGCTrace([]byte(tt.in))
			// Sums of parsed floats: equal to the nanosecond.
			if got.cycles != tt.want.cycles || got.percent != tt.want.percent || got.procs != tt.want.procs ||
				absDur(got.cpu-tt.want.cpu) > time.Nanosecond || absDur(got.idle-tt.want.idle) > time.Nanosecond {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func absDur(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}
