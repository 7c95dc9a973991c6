package load

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/apache/arrow/go/v15/parquet/compress"
)

// withArrowCode runs fn with Arrow's own zstd codec and buffer pool in
// place of TuneArrow's, so a test can write what Arrow alone writes. No
// test of this package runs in parallel, so nothing else writes Parquet
// meanwhile.
func withArrowCode(fn func()) {
	TuneArrow()
	tuned, tunedNew := arrowCodecs[compress.Codecs.Zstd], arrowBufferPool.New
	arrowCodecs[compress.Codecs.Zstd], arrowBufferPool.New = arrowZstd, arrowPoolNew
	defer func() {
		arrowCodecs[compress.Codecs.Zstd], arrowBufferPool.New = tuned, tunedNew
	}()
	// Two collections empty the pool of the tuned allocator's buffers.
	runtime.GC()
	runtime.GC()
	fn()
}

// TestArrowTuned fails when TuneArrow stops reaching Arrow: a release
// that renames the codec map or the encoders' buffer pool would otherwise
// leave the link names pointing at variables of their own, silently.
func TestArrowTuned(t *testing.T) {
	TuneArrow()
	codec, err := compress.GetCodec(compress.Codecs.Zstd)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := codec.(*reusedZstd); !ok {
		t.Fatalf("Arrow's zstd codec is %T, want the reused encoders", codec)
	}
	if _, ok := arrowZstd.(*reusedZstd); ok || arrowZstd == nil {
		t.Fatalf("the codec kept as Arrow's is %T", arrowZstd)
	}

	// The writer's level and value buffers come from the pool: counting
	// the buffers its New makes shows the pool is the one Arrow uses.
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	tunedNew := arrowBufferPool.New
	var made atomic.Int64
	arrowBufferPool.New = func() any { made.Add(1); return tunedNew() }
	defer func() { arrowBufferPool.New = tunedNew }()
	runtime.GC()
	runtime.GC()
	recs := nullableBatches(mem, 10_000, 3)
	defer release(recs)
	writeFile(t, recs[0].Schema(), recs, nil, mem)
	if made.Load() == 0 {
		t.Fatal("the Parquet writer took no buffer from the pool TuneArrow replaced")
	}

	// A buffer of the pool grown a little at a time gets slack.
	buf := tunedNew().(*memory.Buffer)
	buf.Reserve(1024)
	buf.Reserve(1024 + 64)
	if got := cap(buf.Buf()); got < 2048 {
		t.Errorf("pool buffer grown from 1024 to 1088 bytes has capacity %d, want 2048 or more", got)
	}
}

// TestSlackAllocator: the allocator keeps a buffer's bytes across growth
// and returns zeroes beyond them, as the Go allocator does.
func TestSlackAllocator(t *testing.T) {
	var a slackAllocator
	b := a.Allocate(100)
	if len(b) != 100 || cap(b) != 100 {
		t.Fatalf("Allocate(100): len %d cap %d, want 100 and 100", len(b), cap(b))
	}
	for i := range b {
		b[i] = byte(i)
	}
	cases := []struct{ size, wantCap int }{
		{164, 200},   // a small step doubles the capacity
		{180, 200},   // within the capacity: no copy
		{1000, 1000}, // more than double: exactly the request
	}
	for _, tc := range cases {
		b = a.Reallocate(tc.size, b)
		if len(b) != tc.size || cap(b) < tc.wantCap || cap(b) > tc.wantCap+64 {
			t.Fatalf("Reallocate(%d): len %d cap %d, want cap %d", tc.size, len(b), cap(b), tc.wantCap)
		}
		for i := range b {
			want := byte(0)
			if i < 100 {
				want = byte(i)
			}
			if b[i] != want {
				t.Fatalf("Reallocate(%d): byte %d is %d, want %d", tc.size, i, b[i], want)
			}
		}
	}
}

// zstdInputs are pages of the sizes and kinds the writer compresses: below
// zstd's minimum window, one block, just over a block (two blocks with
// history), a Parquet data page, and a longer one, half of it incompressible.
func zstdInputs() map[string][]byte {
	rng := rand.New(rand.NewPCG(7, 11))
	random := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return b
	}
	text := func(n int) []byte {
		var b []byte
		for len(b) < n {
			b = strconv.AppendInt(b, rng.Int64N(100_000), 10)
			b = append(b, ",Lost,DE,EUR,"...)
		}
		return b[:n]
	}
	floats := func(n int) []byte {
		col := make([]float64, n)
		for i := range col {
			col[i] = float64(rng.IntN(5000)) / 100
		}
		return append([]byte(nil), arrow.Float64Traits.CastToBytes(col)...)
	}
	return map[string][]byte{
		"empty":        {},
		"one byte":     {42},
		"short":        text(600),
		"random 100k":  random(100_000),
		"text 128k":    text(128 << 10),
		"text 128k+1":  text(128<<10 + 1),
		"floats 1 MiB": floats(1 << 17),
		"text 1 MiB":   text(1 << 20),
		"mixed 600k":   append(text(300<<10), random(300<<10)...),
	}
}

// TestReusedZstdBytes: the kept encoders give every page the bytes Arrow's
// codec gives it, at every level, in any order, from several goroutines.
func TestReusedZstdBytes(t *testing.T) {
	TuneArrow()
	inputs := zstdInputs()
	names := make([]string, 0, len(inputs))
	for name := range inputs {
		names = append(names, name)
	}
	levels := []int{compress.DefaultCompressionLevel, 1, 7, 11}
	want := map[string][]byte{}
	for _, level := range levels {
		for _, name := range names {
			want[fmt.Sprint(level, name)] = arrowZstd.EncodeLevel(nil, inputs[name], level)
		}
	}
	z := &reusedZstd{Codec: arrowZstd}
	var wg sync.WaitGroup
	errs := make(chan string, 64)
	for g := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(g), 3))
			for range 1 {
				for _, i := range rng.Perm(len(names) * len(levels)) {
					level, name := levels[i/len(names)], names[i%len(names)]
					src := inputs[name]
					// A destination with room, as the page writer passes it.
					dst := make([]byte, 0, arrowZstd.CompressBound(int64(max(len(src), 1))))
					got := z.EncodeLevel(dst, src, level)
					if !bytes.Equal(got, want[fmt.Sprint(level, name)]) {
						errs <- fmt.Sprintf("level %d, %s: %d bytes differ from Arrow's %d", level, name, len(got), len(want[fmt.Sprint(level, name)]))
						return
					}
					if back := arrowZstd.Decode(nil, got); !bytes.Equal(back, src) {
						errs <- fmt.Sprintf("level %d, %s: does not decode to the page", level, name)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

// TestReusedZstdWraps: an encoder's position grows by its window with
// every frame, and after some 250 frames it wraps: the encoder clears its
// match tables, or, when the wrap falls on a later block of a frame,
// shifts them, something a new encoder never does. The frames' sizes are
// steered, by klauspost's bookkeeping (fastBase.resetBase and the wrap
// check of doubleFastEncoder.Encode, v1.18), so that one wrap falls on a
// frame's second block and the next on a frame's third; should that
// bookkeeping change, the frames still compare with Arrow's.
func TestReusedZstdWraps(t *testing.T) {
	TuneArrow()
	// One core: one encoder, which every frame goes through.
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	z := &reusedZstd{Codec: arrowZstd}
	const window, block = 8 << 20, 128 << 10
	reset := int64(math.MaxInt32 - 2*window)
	// Positions at the start of a frame that put the wrap on its second
	// block, then on its third.
	targets := []int64{reset - block + 1000, reset - 2*block + 1000}
	rng := rand.New(rand.NewPCG(3, 9))
	var cur, hist int64 // the encoder's position and history, as modelled
	page := make([]byte, 0, window+4*block)
	for i := 0; len(targets) > 0; i++ {
		if i > 1000 {
			t.Fatal("the frames never reached the wraps aimed at")
		}
		if cur < reset {
			cur += window + hist
		}
		n := 100 + rng.IntN(4000)
		switch d := targets[0] - cur - window; {
		case d > block && d <= window+block:
			n = int(d) // the next frame starts on the target
		case cur == targets[0]:
			n = 3*block + 1000 // the frame the wrap falls in
			targets = targets[1:]
		}
		hist = 0
		if n > block {
			for k := int64(0); k*block < int64(n); k++ {
				if cur >= reset-k*block {
					cur = window
				}
			}
			hist = int64(n)
		} else if cur >= reset {
			cur = window
		}
		page = page[:0]
		for len(page) < n {
			page = strconv.AppendInt(page, rng.Int64N(1<<uint(rng.IntN(40)+1)), 10)
			page = append(page, byte(rng.IntN(4)))
		}
		page = page[:n]
		got := z.EncodeLevel(nil, page, compress.DefaultCompressionLevel)
		if want := arrowZstd.EncodeLevel(nil, page, compress.DefaultCompressionLevel); !bytes.Equal(got, want) {
			t.Fatalf("frame %d of %d bytes: %d bytes differ from Arrow's %d", i, len(page), len(got), len(want))
		}
	}
}

// TestTunedFilesAsArrows: whole files, with scattered nulls (the level
// buffers' growth) and several pages and row groups per column, come out
// as Arrow's own codec and buffers write them.
func TestTunedFilesAsArrows(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	cases := []struct {
		rows, nullEvery int
	}{{1, 1}, {1000, 2}, {300_000, 3}, {300_000, 1000}}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("rows=%d/nullEvery=%d", tc.rows, tc.nullEvery), func(t *testing.T) {
			recs := nullableBatches(mem, tc.rows, tc.nullEvery)
			defer release(recs)
			var want []byte
			withArrowCode(func() { want = writeFile(t, recs[0].Schema(), recs, nil, mem) })
			TuneArrow()
			if got := writeFile(t, recs[0].Schema(), recs, nil, mem); !bytes.Equal(got, want) {
				t.Errorf("tuned file of %d bytes differs from Arrow's of %d", len(got), len(want))
			}
		})
	}
}

// nullableBatches are batches of nullable columns, every nullEvery-th
// value null, in batches of 64Ki rows.
func nullableBatches(mem memory.Allocator, rows, nullEvery int) []arrow.Record {
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "customer_id", Type: arrow.BinaryTypes.String},
		{Name: "orders", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "revenue", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "segment", Type: arrow.BinaryTypes.String, Nullable: true},
	}, nil)
	segments := []string{"Champions", "Loyal Customers", "At Risk", "Lost"}
	rng := rand.New(rand.NewPCG(5, 8))
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	var out []arrow.Record
	for start := 0; start < rows; start += 64 * 1024 {
		for i := start; i < min(start+64*1024, rows); i++ {
			b.Field(0).(*array.StringBuilder).Append("c" + strconv.Itoa(i))
			if i%nullEvery == 0 {
				b.Field(1).AppendNull()
				b.Field(2).AppendNull()
				b.Field(3).AppendNull()
				continue
			}
			b.Field(1).(*array.Int64Builder).Append(rng.Int64N(40))
			b.Field(2).(*array.Float64Builder).Append(float64(rng.IntN(500_000)) / 100)
			b.Field(3).(*array.StringBuilder).Append(segments[rng.IntN(len(segments))])
		}
		out = append(out, b.NewRecord())
	}
	return out
}

func release(recs []arrow.Record) {
	for _, r := range recs {
		r.Release()
	}
}

// BenchmarkWriteFile writes a table of nullable columns, sparse nulls as
// in customer_summary's optional columns, through the load stage's
// writer: with Arrow's own codec and buffers, tuned, and tuned with a row
// group's columns encoded at once (columnWriter, as the stage writes). The
// ratios between them are the gains; the files are the same
// (TestTunedFilesAsArrows, TestColumnsWriteArrowsBytes).
func BenchmarkWriteFile(b *testing.B) {
	mem := memory.NewGoAllocator()
	recs := nullableBatches(mem, 500_000, 7)
	defer release(recs)
	write := func(b *testing.B, columns bool) {
		for b.Loop() {
			var buf bytes.Buffer
			fw, err := newFileWriter(recs[0].Schema(), &buf, 256*1024, mem)
			if err != nil {
				b.Fatal(err)
			}
			cw := newColumnWriter(fw, recs[0].Schema(), arrowProperties(mem), 256*1024)
			for _, rec := range recs {
				if columns {
					err = cw.WriteBuffered(rec)
				} else {
					err = fw.WriteBuffered(rec)
				}
				if err != nil {
					b.Fatal(err)
				}
			}
			cw.release()
			if err := fw.Close(); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Run("arrow", func(b *testing.B) { withArrowCode(func() { write(b, false) }) })
	b.Run("tuned", func(b *testing.B) { TuneArrow(); write(b, false) })
	b.Run("tuned_columns", func(b *testing.B) { TuneArrow(); write(b, true) })
}
