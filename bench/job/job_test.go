// Package job_test benchmarks the whole nightly job as an operator runs it:
// the real binary, as a child process, on a generated shop of 1M customers
// (about 10M orders), so the figures include start-up, Parquet I/O and the
// commit, and peak RSS is the process's own high-water mark.
package job_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// shopDir caches the generated shop between benchmark runs; generating it
// takes longer than the job itself.
func shopDir(b *testing.B, bin string, customers int) string {
	dir := os.Getenv("RETAIN_BENCH_SHOP")
	if dir == "" {
		dir = filepath.Join("..", "..", "tmp", "bench-shop-"+strconv.Itoa(customers))
	}
	if _, err := os.Stat(filepath.Join(dir, "orders")); err == nil {
		return dir
	}
	b.Logf("generating %d customers into %s", customers, dir)
	cmd := exec.Command(bin, "gen", "--customers", strconv.Itoa(customers), "--out", dir, "--end-date", "2026-11-22", "--seed", "1")
	cmd.Stderr = os.Stderr
	if out, err := cmd.Output(); err != nil {
		b.Fatalf("gen: %v", err)
	} else {
		b.Logf("gen: %s", out)
	}
	return dir
}

func build(b *testing.B) string {
	bin := filepath.Join(b.TempDir(), "retain")
	cmd := exec.Command("go", "build", "-o", bin, "../../cmd/retain")
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		b.Fatalf("build: %v", err)
	}
	return bin
}

// BenchmarkNightly1MCustomers reports wall seconds and peak RSS of one run.
// Targets: under 30 s and under 1.5 GB on a 2-core machine.
func BenchmarkNightly1MCustomers(b *testing.B) {
	bin := build(b)
	shop := shopDir(b, bin, 1_000_000)
	out := b.TempDir()
	var wall time.Duration
	var peakKB int64
	var summary struct {
		Rows struct {
			Read int64 `json:"rows_read"`
		} `json:"rows"`
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		cmd := exec.Command(bin, "run", "--job", "../../jobs/nightly.yaml", "--input", shop, "--output", out, "--run-date", "2026-11-22")
		start := time.Now()
		raw, err := cmd.Output()
		wall += time.Since(start)
		if err != nil {
			b.Fatalf("run: %v", err)
		}
		if err := json.Unmarshal(raw, &summary); err != nil {
			b.Fatalf("summary line: %v: %s", err, raw)
		}
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			peakKB = max(peakKB, ru.Maxrss)
		}
	}
	b.ReportMetric(wall.Seconds()/float64(b.N), "wall-s/run")
	b.ReportMetric(float64(peakKB)/1024, "peak-RSS-MB")
	b.ReportMetric(float64(summary.Rows.Read), "orders")
	b.ReportMetric(float64(summary.Rows.Read)*float64(b.N)/wall.Seconds(), "orders/s")
}
