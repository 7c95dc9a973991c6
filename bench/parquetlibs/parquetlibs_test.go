// Package parquetlibs compares the two Go Parquet writers on retain's own
// output: the customer_summary table, 1,000,000 rows, written by Arrow's
// pqarrow (what retain uses) and by github.com/xitongsys/parquet-go. It is a
// module of its own so xitongsys's dependencies stay out of retain's.
//
// Each write runs in a child process (this test binary, re-executed), so the
// peak RSS of one library is not inflated by the other's garbage.
package parquetlibs

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"
)

const rows = 1_000_000

// result is what a child reports about its write.
type result struct {
	WriteNS    int64 `json:"write_ns"`
	AllocBytes int64 `json:"alloc_bytes"`
	FileBytes  int64 `json:"file_bytes"`
	// BaselineRSS is the high-water mark before the write: the table itself.
	BaselineRSS int64 `json:"baseline_rss"`
}

func TestMain(m *testing.M) {
	if lib := os.Getenv("PARQUETLIBS_CHILD"); lib != "" {
		if err := child(lib, os.Getenv("PARQUETLIBS_OUT")); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// child builds the table as Arrow columns (where retain holds it), then
// times only the write, including any conversion the library forces.
func child(lib, path string) error {
	rec, err := makeRecord(rows)
	if err != nil {
		return err
	}
	defer rec.Release()
	runtime.GC()
	var base syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &base); err != nil {
		return err
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	switch lib {
	case "pqarrow":
		err = writePqarrow(rec, path)
	case "xitongsys":
		err = writeXitongsys(rec, path)
	default:
		err = fmt.Errorf("unknown library %q", lib)
	}
	elapsed := time.Since(start)
	runtime.ReadMemStats(&after)
	if err != nil {
		return err
	}
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	return json.NewEncoder(os.Stdout).Encode(result{
		WriteNS: elapsed.Nanoseconds(), AllocBytes: int64(after.TotalAlloc - before.TotalAlloc), FileBytes: st.Size(),
		BaselineRSS: base.Maxrss * 1024,
	})
}

func runChild(tb testing.TB, lib, path string) (result, int64) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "PARQUETLIBS_CHILD="+lib, "PARQUETLIBS_OUT="+path)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		tb.Fatalf("%s child: %v", lib, err)
	}
	var r result
	if err := json.Unmarshal(out, &r); err != nil {
		tb.Fatalf("%s child output %q: %v", lib, out, err)
	}
	return r, cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss * 1024
}

func benchmarkLib(b *testing.B, lib string) {
	var write, alloc, file, peak, base int64
	for i := 0; i < b.N; i++ {
		r, rss := runChild(b, lib, filepath.Join(b.TempDir(), lib+".parquet"))
		write += r.WriteNS
		alloc, file, peak, base = r.AllocBytes, r.FileBytes, max(peak, rss), r.BaselineRSS
	}
	b.ReportMetric(float64(write)/float64(b.N)/1e9, "write-s")
	b.ReportMetric(float64(alloc)/(1<<20), "alloc-MB")
	b.ReportMetric(float64(peak)/(1<<20), "peak-RSS-MB")
	b.ReportMetric(float64(peak-base)/(1<<20), "write-RSS-MB")
	b.ReportMetric(float64(file)/(1<<20), "file-MB")
}

// BenchmarkWrite1MPqarrow writes customer_summary with Arrow's pqarrow.
func BenchmarkWrite1MPqarrow(b *testing.B) { benchmarkLib(b, "pqarrow") }

// BenchmarkWrite1MXitongsys writes the same table with xitongsys/parquet-go.
func BenchmarkWrite1MXitongsys(b *testing.B) { benchmarkLib(b, "xitongsys") }
