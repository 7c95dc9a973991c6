// Package progresstest is a progress.Clock for tests: its ticks fire when
// the test says, at the times it says, and it counts the tickers stopped.
package progresstest

import (
	"sync"
	"time"

	"retain/internal/progress"
)

// Clock is a fake progress.Clock. Now is always its start time; ticks
// carry the times the test gives them.
type Clock struct {
	t0     time.Time
	mu     sync.Mutex
	script [][]time.Duration
	made   []*ticker
}

// New returns a Clock starting at t0. The i-th ticker made gets the ticks
// of script[i] queued as it is made, each at t0 plus its offset, so a
// test can make a line due in a meter it cannot reach.
func New(t0 time.Time, script ...[]time.Duration) *Clock {
	return &Clock{t0: t0, script: script}
}

// Now returns the start time.
func (c *Clock) Now() time.Time { return c.t0 }

// NewTicker returns a ticker that fires only when told.
func (c *Clock) NewTicker(time.Duration) progress.Ticker {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &ticker{c: make(chan time.Time, 64)}
	if i := len(c.made); i < len(c.script) {
		for _, d := range c.script[i] {
			t.c <- c.t0.Add(d)
		}
	}
	c.made = append(c.made, t)
	return t
}

// Fire queues a tick at t0 plus after on the newest ticker; the worker's
// next Tick logs it.
func (c *Clock) Fire(after time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.made) == 0 {
		panic("progresstest: Fire before any ticker was made")
	}
	c.made[len(c.made)-1].c <- c.t0.Add(after)
}

// Tickers returns how many tickers were made and how many of them were
// stopped.
func (c *Clock) Tickers() (made, stopped int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, t := range c.made {
		t.mu.Lock()
		if t.stopped {
			stopped++
		}
		t.mu.Unlock()
	}
	return len(c.made), stopped
}

type ticker struct {
	c       chan time.Time
	mu      sync.Mutex
	stopped bool
}

func (t *ticker) C() <-chan time.Time { return t.c }

func (t *ticker) Stop() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.stopped = true
}
