package parquetlibs

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow/go/v15/arrow"
)

const (
	benchRows = 1_000_000
	seed      = 1
	// The child process of the memory measurement learns where to write
	// from these, and their absence tells TestWriteOnce it is not a child.
	envReport = "PARQUETLIBS_REPORT"
	envOut    = "PARQUETLIBS_OUT"
)

// writer is one way of writing the table. prepare builds its input outside
// any timer and returns the write to time.
type writer struct {
	name    string
	prepare func(rows int) func(path string) error
}

var writers = []writer{
	{"pqarrow", func(n int) func(string) error {
		rec := table(n)
		return func(path string) error { return WritePqarrow(path, rec) }
	}},
	// What retain would pay: its data is Arrow, so conversion is timed.
	{"xitongsys", func(n int) func(string) error {
		rec := table(n)
		return func(path string) error { return WriteXitongsys(path, rec) }
	}},
	// The library alone, for a caller that already holds structs.
	{"xitongsys-structs", func(n int) func(string) error {
		rows := structs(n)
		return func(path string) error { return WriteXitongsysRows(path, rows) }
	}},
}

var (
	cacheMu  sync.Mutex
	tables   = map[int]arrow.Record{}
	rowCache = map[int][]Row{}
)

// table caches the generated data: at 1M rows generating it takes about as
// long as writing it, and every sub-benchmark must see the same rows.
func table(n int) arrow.Record {
	cacheMu.Lock()
	defer cacheMu.Unlock()
	if rec, ok := tables[n]; ok {
		return rec
	}
	rec := Generate(n, seed)
	tables[n] = rec
	return rec
}

func structs(n int) []Row {
	rec := table(n)
	cacheMu.Lock()
	defer cacheMu.Unlock()
	if rows, ok := rowCache[n]; ok {
		return rows
	}
	rows := AppendRows(make([]Row, 0, n), rec)
	rowCache[n] = rows
	return rows
}

// BenchmarkWrite1M writes the 1,000,000-row table once per iteration with
// each writer. ns/op, B/op and allocs/op cover the write alone (for
// xitongsys including the Arrow-to-struct conversion); peak memory comes
// from a child process per writer, see TestWriteOnce.
func BenchmarkWrite1M(b *testing.B) {
	for _, w := range writers {
		b.Run(w.name, func(b *testing.B) {
			mem := measureInChild(b, w.name)
			write := w.prepare(benchRows)
			path := filepath.Join(b.TempDir(), w.name+".parquet")
			// Garbage left by generation or an earlier writer would
			// otherwise be collected on this writer's clock.
			runtime.GC()
			b.ReportAllocs()
			for b.Loop() {
				if err := write(path); err != nil {
					b.Fatal(err)
				}
			}
			st, err := os.Stat(path)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(st.Size())/(1<<20), "file-MiB")
			b.ReportMetric(float64(mem.PeakRSS)/(1<<20), "peak-RSS-MiB")
			b.ReportMetric(float64(mem.PeakRSS-mem.BaseRSS)/(1<<20), "write-RSS-MiB")
		})
	}
}

// memReport is what a child measured around its single write.
type memReport struct {
	// BaseRSS is resident memory just before the write: the runtime plus
	// the input (Arrow record or structs), after a full GC.
	BaseRSS int64 `json:"base_rss"`
	// PeakRSS is the high-water mark of resident memory during the write,
	// input included.
	PeakRSS int64 `json:"peak_rss"`
	WallNS  int64 `json:"wall_ns"`
}

// measureInChild runs TestWriteOnce/<name> in a fresh process so that the
// peak is this writer's alone, not inflated by another writer's garbage or
// by the parent's cached data.
func measureInChild(b *testing.B, name string) memReport {
	b.Helper()
	dir := b.TempDir()
	report := filepath.Join(dir, "report.json")
	cmd := exec.Command(os.Args[0], "-test.run=^TestWriteOnce$/^"+name+"$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), envReport+"="+report, envOut+"="+filepath.Join(dir, name+".parquet"))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		b.Fatalf("child for %s: %v\n%s", name, err, out.Bytes())
	}
	raw, err := os.ReadFile(report)
	if err != nil {
		b.Fatalf("child for %s wrote no report: %v\n%s", name, err, out.Bytes())
	}
	var r memReport
	if err := json.Unmarshal(raw, &r); err != nil {
		b.Fatal(err)
	}
	// The whole child's high-water mark, data generation included, is a
	// cross-check that the reset of VmHWM did not hide anything larger.
	procKB := int64(-1)
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		procKB = int64(ru.Maxrss)
	}
	b.Logf("child %s: write %v, RSS before %.0f MiB, peak during write %.0f MiB, whole process peak %.0f MiB",
		name, time.Duration(r.WallNS).Round(time.Millisecond), float64(r.BaseRSS)/(1<<20), float64(r.PeakRSS)/(1<<20), float64(procKB)/1024)
	return r
}

// TestWriteOnce is the child half of BenchmarkWrite1M's memory measurement:
// started by it with envReport set, it builds one writer's input, settles
// the heap, resets the kernel's RSS high-water mark and performs one write.
// Without envReport it has nothing to do; TestWritersAgree checks the
// writers themselves.
func TestWriteOnce(t *testing.T) {
	report, out := os.Getenv(envReport), os.Getenv(envOut)
	if report == "" {
		t.Skip("run as a child process by BenchmarkWrite1M")
	}
	for _, w := range writers {
		t.Run(w.name, func(t *testing.T) {
			write := w.prepare(benchRows)
			runtime.GC()
			debug.FreeOSMemory()
			if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
				t.Fatalf("cannot reset the RSS high-water mark (Linux only): %v", err)
			}
			base, _, err := procRSS()
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			if err := write(out); err != nil {
				t.Fatal(err)
			}
			wall := time.Since(start)
			_, peak, err := procRSS()
			if err != nil {
				t.Fatal(err)
			}
			raw, err := json.Marshal(memReport{BaseRSS: base, PeakRSS: peak, WallNS: wall.Nanoseconds()})
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(report, raw, 0o644); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// procRSS returns VmRSS and VmHWM from /proc/self/status, in bytes.
func procRSS() (rss, hwm int64, err error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var key string
		var kb int64
		if n, _ := fmt.Sscanf(sc.Text(), "%s %d kB", &key, &kb); n != 2 {
			continue
		}
		switch key {
		case "VmRSS:":
			rss = kb << 10
		case "VmHWM:":
			hwm = kb << 10
		}
	}
	if rss == 0 || hwm == 0 {
		return 0, 0, fmt.Errorf("no VmRSS/VmHWM in /proc/self/status")
	}
	return rss, hwm, sc.Err()
}
