package validate

import (
	"sync"
	"sync/atomic"

	"retain/stages/internal/recovered"
)

// workers is how many goroutines check raw batches. Merging stays on the
// goroutine that calls Process, in arrival order, so the tables are the
// same for any number of them.
var workers = 2

// inFlight bounds the batches handed to the workers and not yet merged,
// and so the raw batches the stage keeps alive: enough to keep every
// worker busy while the oldest batch waits to be merged.
func inFlight() int { return 2 * workers }

// pool runs the checkers. Its zero value is idle; start starts the
// workers on the first batch.
type pool struct {
	work    chan *checked
	pending []*checked // in arrival order
	wg      sync.WaitGroup
	// stopping makes workers skip what is queued when the stage is closed
	// before it finished.
	stopping atomic.Bool
	stopped  bool
	checkers []*checker
	// free takes the candidates of merged batches back to the checkers.
	free chan []candidate
}

// recycle gives a merged batch's candidates back for reuse.
func (p *pool) recycle(c []candidate) {
	select {
	case p.free <- c:
	default:
	}
}

func (p *pool) start(v *validator) {
	if p.work != nil || p.stopped {
		return
	}
	p.work = make(chan *checked, inFlight())
	p.free = make(chan []candidate, inFlight()+workers)
	for range workers {
		ck := newChecker(v, v.rc.Mem, p.free)
		p.checkers = append(p.checkers, ck)
		p.wg.Add(1)
		go p.run(ck)
	}
}

func (p *pool) run(ck *checker) {
	defer p.wg.Done()
	for c := range p.work {
		if !p.stopping.Load() {
			c.err = recovered.Call("validation", nil, func() error {
				ck.check(c)
				return nil
			})
		}
		close(c.done)
	}
}

// submit queues a batch for the workers.
func (p *pool) submit(c *checked) {
	p.pending = append(p.pending, c)
	p.work <- c
}

// next returns the oldest batch once it is checked, waiting for it when
// wait is set or when too many are in flight; nil when none is ready.
func (p *pool) next(wait bool) *checked {
	if len(p.pending) == 0 {
		return nil
	}
	c := p.pending[0]
	if !wait && len(p.pending) < inFlight() {
		select {
		case <-c.done:
		default:
			return nil
		}
	}
	<-c.done
	p.pending[0] = nil
	p.pending = p.pending[1:]
	return c
}

// stop ends the workers once they have checked what is queued.
func (p *pool) stop() {
	if p.stopped {
		return
	}
	p.stopped = true
	if p.work != nil {
		close(p.work)
		p.wg.Wait()
	}
}

// close ends the workers without checking what is queued, and releases
// every batch not merged and the checkers.
func (p *pool) close() {
	p.stopping.Store(true)
	p.stop()
	for _, c := range p.pending {
		c.release()
	}
	p.pending = nil
	for _, ck := range p.checkers {
		ck.orders.Release()
	}
	p.checkers = nil
}

// release frees a checked batch's records.
func (c *checked) release() {
	if c.orders != nil {
		c.orders.Release()
		c.orders = nil
	}
	if c.rec != nil {
		c.rec.Release()
		c.rec = nil
	}
}
