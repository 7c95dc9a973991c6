package main

import (
	"bytes"
	"os"
	"runtime/metrics"
	"runtime/pprof"
	"sync"
	"time"
)

// peakHeapProfile keeps the heap profile of the largest live heap seen
// while the run goes on. A profile written at the end shows what is alive
// then, after the stages that peak have let go of their state; the peak is
// what sizes a worker. The heap profile describes the heap as the last
// collection marked it, and /gc/heap/live:bytes is that same heap, so each
// snapshot is taken when the live figure grows past the best one kept.
type peakHeapProfile struct {
	stop chan struct{}
	done chan struct{}
	mu   sync.Mutex
	best []byte
	live uint64
}

// peakPollEvery is how often the live heap is read: collections in a large
// run are seconds apart, so a finer poll finds no other peak.
const peakPollEvery = 200 * time.Millisecond

func startPeakHeapProfile() *peakHeapProfile {
	p := &peakHeapProfile{stop: make(chan struct{}), done: make(chan struct{})}
	go p.watch()
	return p
}

func (p *peakHeapProfile) watch() {
	defer close(p.done)
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	t := time.NewTicker(peakPollEvery)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
		}
		metrics.Read(sample)
		if sample[0].Value.Kind() != metrics.KindUint64 {
			return
		}
		live := sample[0].Value.Uint64()
		// A snapshot costs a walk of every sampled allocation site, so
		// only a live heap 2% above the kept one is worth another.
		if live <= p.live+p.live/50 {
			continue
		}
		var buf bytes.Buffer
		if err := pprof.Lookup("heap").WriteTo(&buf, 0); err != nil {
			continue
		}
		p.mu.Lock()
		p.best, p.live = buf.Bytes(), live
		p.mu.Unlock()
	}
}

// write stops watching and writes the kept profile to path.
func (p *peakHeapProfile) write(path string) error {
	close(p.stop)
	<-p.done
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.best == nil {
		var buf bytes.Buffer
		if err := pprof.Lookup("heap").WriteTo(&buf, 0); err != nil {
			return err
		}
		p.best = buf.Bytes()
	}
	return os.WriteFile(path, p.best, 0o644)
}
