package extract

import (
	"context"
	"errors"

	"github.com/apache/arrow/go/v15/arrow"
	"retain/engine"
	"retain/stages/internal/recovered"
)

// ErrUnreadable is wrapped when an input file cannot be read as what it
// claims to be: a Parquet file whose pages do not decode or hold fewer rows
// than its footer declares, a CSV file a stray quote runs through, a
// decoder that panicked on corrupt bytes.
var ErrUnreadable = errors.New("unreadable input file")

// batch is what a file decoder hands the stage: the malformed records
// found since the previous batch, which come before rec's rows in the file,
// and rec (nil when there are only malformed records), whose first row is
// data row firstRow of the file.
type batch struct {
	malformed []malformedRecord
	rec       arrow.Record
	firstRow  int64
	// keys are the fingerprints of rec's order ids and shared its
	// input.SharedOrderID column, when a Parquet decoder's worker computed
	// them (see reader.prepare); nil otherwise.
	keys   []uint64
	shared arrow.Array
}

func (b batch) release() {
	if b.rec != nil {
		b.rec.Release()
	}
	if b.shared != nil {
		b.shared.Release()
	}
}

// decoder decodes one file, calling send for each batch in file order; it returns early, without error, when send says the
// stage stopped listening.
type decoder func(send func(batch) bool) error

// guard runs fn and turns a panic into an ErrUnreadable error. Arrow's
// Parquet decoders panic on some corrupt bytes (a zstd frame that does not
// decode, a column shorter than its neighbours); the stack goes to a
// warning in the log, not to the one-line reason.
func guard(fn func() error) error { return recovered.Call("decoder", ErrUnreadable, fn) }

// stream runs decode on another goroutine while the batches it decoded
// flow through the stages, so decoding overlaps validation on a second
// core; two batches in flight bound the memory this costs, beside the row
// groups a Parquet decoder's workers hold. Every call into
// a decoder happens on that goroutine, under guard: a panic there would
// otherwise end the process, since recover works only on the goroutine that
// panics. It returns the data rows (malformed ones included) the file
// yielded.
func (r *reader) stream(ctx context.Context, f *plannedFile, decode decoder, out engine.Emitter) (int64, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	batches := make(chan batch, 1)
	var decodeErr error
	go func() {
		defer close(batches)
		decodeErr = guard(func() error {
			return decode(func(b batch) bool {
				select {
				case batches <- b:
					return true
				case <-ctx.Done():
					b.release()
					return false
				}
			})
		})
	}()
	defer func() {
		cancel()
		for b := range batches {
			b.release()
		}
	}()

	var rows int64
	for b := range batches {
		err := r.take(ctx, f, b, out)
		n := int64(len(b.malformed))
		if b.rec != nil {
			n += b.rec.NumRows()
		}
		rows += n
		b.release()
		if err != nil {
			return rows, err
		}
		r.progress.read(n)
	}
	// The channel is closed: the decoder goroutine has returned.
	return rows, decodeErr
}
