package main

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

// TestPeakHeapProfile: the profile kept is the one taken at the largest
// live heap, after the allocation that made it is garbage, and is written
// as a (gzip-compressed) pprof file.
func TestPeakHeapProfile(t *testing.T) {
	p := startPeakHeapProfile()
	peak := make([]byte, 64<<20)
	runtime.GC()
	deadline := time.Now().Add(10 * time.Second)
	for {
		p.mu.Lock()
		live := p.live
		p.mu.Unlock()
		if live >= 64<<20 || time.Now().After(deadline) {
			break
		}
		time.Sleep(peakPollEvery)
	}
	runtime.KeepAlive(peak)
	peak = nil
	runtime.GC()
	time.Sleep(2 * peakPollEvery)
	path := filepath.Join(t.TempDir(), "heap.pprof")
	if err := p.write(path); err != nil {
		t.Fatal(err)
	}
	if p.live < 64<<20 {
		t.Errorf("kept the profile of a %d-byte live heap, want the 64 MiB peak's", p.live)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(raw, []byte{0x1f, 0x8b}) {
		t.Errorf("%s is not a gzip-compressed profile", path)
	}
}
