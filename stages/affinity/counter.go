package affinity

import (
	"github.com/apache/arrow/go/v15/arrow"
	"retain/stages/internal/ids"
	"retain/stages/internal/recovered"
)

// counter counts baskets on a goroutine of its own: product ids, the open
// baskets, the used-order lookups and the pair table. Process checks each
// batch's rows on the runner's goroutine, which also decodes the items and
// emits the rejected ones in file order, and hands the accepted rows over
// in arrival order; the counting is then what one goroutine doing both
// would do, so the table comes out the same, while the two take the two
// cores instead of taking turns on one.
type counter struct {
	jobs chan *countJob
	// free holds the jobs not in flight; taking one waits while
	// countJobs are queued, which bounds the batches kept alive.
	free chan *countJob
	// failed is closed at the first error, after err is set; done once
	// the goroutine has drained the queue.
	failed chan struct{}
	done   chan struct{}
	err    error // read after failed or done is closed
}

// countJobs is how many batches may be in flight: one being counted, one
// queued, one being checked.
const countJobs = 3

// countJob is one batch's accepted rows: each one's order id and SKU,
// trimmed, as views into rec's buffers. A batch of the warehouse's counts
// has kind set and is added whole.
type countJob struct {
	rec          arrow.Record
	kind         string
	orders, skus []string
	// trimmedOrder and trimmedSKU are the batch's ids that lost spaces,
	// added to the items' accounting here, where aggregates add theirs.
	trimmedOrder, trimmedSKU int64
}

// take returns a free job, starting the goroutine on the first call, or
// the counting's error.
func (s *stage) take() (*countJob, error) {
	c := &s.counter
	if c.jobs == nil {
		c.jobs, c.free = make(chan *countJob, countJobs), make(chan *countJob, countJobs)
		c.failed, c.done = make(chan struct{}), make(chan struct{})
		for range countJobs {
			c.free <- &countJob{}
		}
		go s.countAll(c)
	}
	select {
	case <-c.failed:
		return nil, c.err
	default:
	}
	select {
	case j := <-c.free:
		return j, nil
	case <-c.failed:
		return nil, c.err
	}
}

// send queues j, which holds a reference to rec until it is counted.
func (c *counter) send(j *countJob, rec arrow.Record) {
	rec.Retain()
	j.rec = rec
	c.jobs <- j
}

// countAll is the counting goroutine. A panic is an error of the run, not the
// end of the process.
func (s *stage) countAll(c *counter) {
	defer close(c.done)
	for j := range c.jobs {
		if c.err == nil {
			c.err = recovered.Call("product pair counter", nil, func() error { return s.countJob(j) })
			if c.err != nil {
				close(c.failed)
			}
		}
		j.rec.Release() // after a failure, drain so the runner never blocks
		// Cleared so the views do not keep released batches' buffers alive.
		clear(j.orders)
		clear(j.skus)
		j.rec, j.kind, j.orders, j.skus = nil, "", j.orders[:0], j.skus[:0]
		j.trimmedOrder, j.trimmedSKU = 0, 0
		c.free <- j
	}
}

func (s *stage) countJob(j *countJob) error {
	if j.kind != "" {
		return s.aggregate(j.kind, j.rec)
	}
	ids.AddCount(s.rc.Items.Trimmed, "order_id", j.trimmedOrder)
	ids.AddCount(s.rc.Items.Trimmed, "sku", j.trimmedSKU)
	for i, order := range j.orders {
		slot := s.last
		if slot < 0 || order != string(s.open[slot].order) {
			slot = s.openBasket(order)
		}
		s.open[slot].items = append(s.open[slot].items, s.product(j.skus[i]))
	}
	return nil
}

// wait lets the goroutine count what is queued and stop, and returns its
// error; it is safe to call again.
func (c *counter) wait() error {
	if c.jobs == nil {
		return nil
	}
	close(c.jobs)
	<-c.done
	c.jobs = nil
	return c.err
}
