// Package progress logs how far a long piece of work has come: done out of
// the total when the total is known, the rate so far and an estimate of the
// time left, one line every few seconds.
//
// A Meter has no goroutine of its own. The worker calls Tick as it goes,
// and a line is logged only when the Meter's ticker has fired since the
// last one, so a Meter cannot outlive its work and reads the worker's
// counts without locks; a worker stalled inside one step logs nothing until
// the step ends.
package progress

import (
	"math"
	"time"

	"github.com/rs/zerolog"
)

// Every is how often a Meter logs while its worker ticks.
const Every = 5 * time.Second

// Clock gives a Meter its start time and its ticker; tests pass a fake one
// to fire ticks at chosen times and see that the ticker is stopped.
type Clock interface {
	Now() time.Time
	NewTicker(d time.Duration) Ticker
}

// Ticker is what a Meter needs of a time.Ticker.
type Ticker interface {
	C() <-chan time.Time
	Stop()
}

// RealClock is the wall clock; a nil Clock in Options means it.
type RealClock struct{}

// Now returns time.Now().
func (RealClock) Now() time.Time { return time.Now() }

// NewTicker returns a time.Ticker.
func (RealClock) NewTicker(d time.Duration) Ticker { return realTicker{time.NewTicker(d)} }

type realTicker struct{ t *time.Ticker }

func (r realTicker) C() <-chan time.Time { return r.t.C }
func (r realTicker) Stop()               { r.t.Stop() }

// Options describe what a Meter counts.
type Options struct {
	// Msg is every line's message.
	Msg string
	// Unit names the line's fields: <unit> (done), <unit>_total and
	// <unit>_per_s.
	Unit string
	// Total is the work to do in units; 0 when it is not known, and then
	// lines carry neither a total, a percentage nor an estimate.
	Total int64
	// Fields, when set, adds fields to every line (such as a count of
	// another unit); it runs on the worker's goroutine, inside Tick.
	Fields func(*zerolog.Event)
	// Clock is nil for the wall clock.
	Clock Clock
}

// Meter logs a worker's progress. Its methods are called from the worker's
// goroutine only.
type Meter struct {
	log     zerolog.Logger
	o       Options
	start   time.Time
	ticker  Ticker
	stopped bool
}

// Start starts a Meter's clock and ticker; Stop must follow, when the work
// ends or fails.
func Start(log zerolog.Logger, o Options) *Meter {
	if o.Clock == nil {
		o.Clock = RealClock{}
	}
	return &Meter{log: log, o: o, start: o.Clock.Now(), ticker: o.Clock.NewTicker(Every)}
}

// Tick logs a line with done units of work if the ticker fired since the
// last line; otherwise it costs one non-blocking channel receive, so the
// worker may call it for every unit.
func (m *Meter) Tick(done int64) {
	if m.stopped {
		return
	}
	select {
	case now := <-m.ticker.C():
		m.report(now, done)
	default:
	}
}

// Stop stops the ticker; a Meter stopped twice stops it once.
func (m *Meter) Stop() {
	if !m.stopped {
		m.stopped = true
		m.ticker.Stop()
	}
}

// report logs the line for done units at now. The rate is the average
// since Start: a steady worker's estimate then settles instead of jumping
// with every batch.
func (m *Meter) report(now time.Time, done int64) {
	elapsed := now.Sub(m.start).Seconds()
	ev := m.log.Info().Int64(m.o.Unit, done)
	if m.o.Total > 0 {
		ev = ev.Int64(m.o.Unit+"_total", m.o.Total).Float64("percent", math.Round(1000*float64(done)/float64(m.o.Total))/10)
	}
	var rate float64
	if elapsed > 0 {
		rate = float64(done) / elapsed
	}
	ev = ev.Int64(m.o.Unit+"_per_s", int64(math.Round(rate))).Int64("elapsed_s", int64(math.Round(elapsed)))
	if m.o.Total > 0 && rate > 0 {
		ev = ev.Int64("eta_s", int64(math.Ceil(float64(max(m.o.Total-done, 0))/rate)))
	}
	if m.o.Fields != nil {
		m.o.Fields(ev)
	}
	ev.Msg(m.o.Msg)
}
