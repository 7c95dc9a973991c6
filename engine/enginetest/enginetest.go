// Package enginetest helps test one stage outside a run: an Emitter that
// keeps what the stage emits, hands it values and collects its files in
// memory.
package enginetest

import (
	"bytes"
	"context"
	"fmt"
	"io"

	"github.com/apache/arrow/go/v15/arrow"

	"retain/engine"
)

// Unused gives an emitter that only collects batches the other methods of
// engine.Emitter, refusing each, so a test fake need only write Emit.
type Unused struct{}

// Provide refuses: the stage under test is not expected to hand over.
func (Unused) Provide(key string, _ any) error {
	return fmt.Errorf("%w: this test takes no hand-over %q", engine.ErrGraph, key)
}

// Need refuses: the stage under test is not expected to need a value.
func (Unused) Need(key string) (any, error) {
	return nil, fmt.Errorf("%w: this test provides no %q", engine.ErrNotProvided, key)
}

// Create refuses: the stage under test is not expected to write files.
func (Unused) Create(artifact, _ string) (io.WriteCloser, error) {
	return nil, fmt.Errorf("%w: this test takes no files of %q", engine.ErrGraph, artifact)
}

// Emitter keeps everything a stage passes on. Records are retained until
// Release, so tests with a checked allocator must call it.
type Emitter struct {
	// Records holds the emitted batches per table, in order.
	Records map[string][]arrow.Record
	// Values holds hand-overs: set them before the stage needs them, read
	// what it provided afterwards.
	Values map[string]any
	// Files holds created files by "artifact/name".
	Files map[string]*bytes.Buffer
}

// NewEmitter returns an empty Emitter.
func NewEmitter() *Emitter {
	return &Emitter{Records: map[string][]arrow.Record{}, Values: map[string]any{}, Files: map[string]*bytes.Buffer{}}
}

// Emit keeps rec.
func (e *Emitter) Emit(_ context.Context, table string, rec arrow.Record) error {
	rec.Retain()
	e.Records[table] = append(e.Records[table], rec)
	return nil
}

// Provide stores v under key.
func (e *Emitter) Provide(key string, v any) error {
	e.Values[key] = v
	return nil
}

// Need returns the value stored under key.
func (e *Emitter) Need(key string) (any, error) {
	v, ok := e.Values[key]
	if !ok {
		return nil, fmt.Errorf("%w: %q", engine.ErrNotProvided, key)
	}
	return v, nil
}

// Create returns an in-memory file.
func (e *Emitter) Create(artifact, name string) (io.WriteCloser, error) {
	b := &bytes.Buffer{}
	e.Files[artifact+"/"+name] = b
	return nopCloser{b}, nil
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

// Rows counts the emitted rows of table.
func (e *Emitter) Rows(table string) int64 {
	var n int64
	for _, r := range e.Records[table] {
		n += r.NumRows()
	}
	return n
}

// Release releases every kept record.
func (e *Emitter) Release() {
	for t, rs := range e.Records {
		for _, r := range rs {
			r.Release()
		}
		delete(e.Records, t)
	}
}
