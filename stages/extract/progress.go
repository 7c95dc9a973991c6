package extract

import (
	"io"
	"sync/atomic"

	"github.com/rs/zerolog"

	"retain/internal/progress"
)

// clock is the progress meters' clock; nil is the wall clock. Tests set it
// to fire ticks between batches.
var clock progress.Clock

// readProgress is what an input's meter counts. Parquet footers give the
// rows up front, so an input of Parquet files only counts rows of their
// total; an input with a CSV file, whose rows are not known before it is
// read, counts bytes of the files' total size instead, with the rows read
// alongside.
type readProgress struct {
	byBytes bool
	total   int64
	// rows are the data rows read so far; finished the bytes of the files
	// read to the end.
	rows, finished int64
	// csv counts the bytes read of the CSV file being read, on the
	// decoder's goroutine; nil between CSV files. A Parquet file's bytes
	// count once it is read.
	csv   *countingReader
	meter *progress.Meter
}

func (p *readProgress) done() int64 {
	if !p.byBytes {
		return p.rows
	}
	if p.csv != nil {
		return p.finished + p.csv.n.Load()
	}
	return p.finished
}

// startProgress starts the input's meter; stop must follow.
func (r *reader) startProgress() {
	p := &r.progress
	p.rows, p.finished, p.csv = 0, 0, nil
	o := progress.Options{Msg: "reading input", Unit: "rows", Total: p.total, Clock: clock}
	if p.byBytes {
		o.Unit = "bytes"
		o.Fields = func(e *zerolog.Event) { e.Int64("rows", p.rows) }
	}
	p.meter = progress.Start(r.rc.Log.With().Str("stage", "extract").Str("input", r.where).Logger(), o)
}

// read counts rows the stage has taken and logs a line when one is due.
func (p *readProgress) read(rows int64) {
	p.rows += rows
	if p.meter != nil {
		p.meter.Tick(p.done())
	}
}

// fileDone counts a file read to the end.
func (p *readProgress) fileDone(f *plannedFile) {
	p.finished += f.size
	p.csv = nil
}

func (p *readProgress) stop() {
	if p.meter != nil {
		p.meter.Stop()
	}
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.n.Add(int64(n))
	return n, err
}
