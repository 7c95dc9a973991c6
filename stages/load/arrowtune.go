package load

import (
	"sync"
	_ "unsafe" // for go:linkname

	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/apache/arrow/go/v15/parquet/compress"
	"github.com/klauspost/compress/zstd"
)

// Arrow v15's Parquet writer spends much of the load stage's CPU on two
// costs that do not shape a single output byte, and it offers no hook to
// avoid either, so TuneArrow replaces the two private values behind them.
// Both are reached by go:linkname because Arrow v15 has no RegisterCodec
// and no way to give the writer its scratch buffers; upgrading Arrow is
// not an option for this job. TestArrowTuned fails if either stops taking
// effect (a new Arrow release renaming them), and the byte tests compare
// with Arrow's own code.
//
//   - compress.zstdCodec.EncodeLevel builds a new zstd encoder for every
//     page, and each new encoder allocates and zeroes a 16 MiB history
//     and its match tables, garbage the collector then has to chase.
//     reusedZstd keeps the encoders.
//   - the definition-level buffers of nullable columns sit 4 bytes into
//     their pooled buffer (the length prefix of a v1 data page), which
//     makes every reservation of PooledBufferWriter ask for 4 bytes more
//     than the buffer holds, and Arrow's Go allocator then copies the
//     whole buffer into one 64 bytes longer: quadratic in a page's
//     levels. slackAllocator grows those copies geometrically.
//
// On a million customers the two took the stage from 13.4 to 9.2 CPU
// seconds, and the run's collector from 5.7 to 3.1 (BenchmarkWriteFile
// shows the ratio on one table).

//go:linkname arrowCodecs github.com/apache/arrow/go/v15/parquet/compress.codecs
var arrowCodecs map[compress.Compression]compress.Codec

//go:linkname arrowBufferPool github.com/apache/arrow/go/v15/parquet/internal/encoding.bufferPool
var arrowBufferPool sync.Pool

var (
	tuneOnce sync.Once
	// arrowZstd and arrowPoolNew are what TuneArrow replaced, kept so the
	// tests can compare with Arrow's own code.
	arrowZstd    compress.Codec
	arrowPoolNew func() any
)

// TuneArrow installs reusedZstd and slackAllocator in Arrow, once per
// process. Both are read by Arrow without a lock, so this must run before
// any Parquet file is read or written: Register calls it, and registries
// are built before a run starts; a program that writes with
// WriterProperties but builds no registry (a benchmark of the write path)
// calls it itself.
func TuneArrow() {
	tuneOnce.Do(func() {
		arrowZstd = arrowCodecs[compress.Codecs.Zstd]
		if arrowZstd != nil {
			arrowCodecs[compress.Codecs.Zstd] = &reusedZstd{Codec: arrowZstd}
		}
		arrowPoolNew = arrowBufferPool.New
		arrowBufferPool.New = func() any { return memory.NewResizableBuffer(slackAllocator{}) }
	})
}

// reusedZstd is Arrow's zstd codec with EncodeLevel on encoders kept for
// the process. EncodeAll starts every frame from a reset encoder whose old
// history is out of reach, so a kept encoder writes the bytes a new one
// with the same options writes (TestReusedZstdBytes checks it). Reading
// and the other methods stay Arrow's.
type reusedZstd struct {
	compress.Codec
	mu   sync.Mutex
	encs map[zstd.EncoderLevel]*zstd.Encoder
}

// encoder returns the kept encoder of level, made with the options
// Arrow's EncodeLevel gives its new one. Its concurrency is the default,
// GOMAXPROCS, so the tables' goroutines compress at once while the
// encoders' histories (16 MiB each, kept for the process) stay bounded
// by the cores, not the tables.
func (z *reusedZstd) encoder(level zstd.EncoderLevel) *zstd.Encoder {
	z.mu.Lock()
	defer z.mu.Unlock()
	if enc, ok := z.encs[level]; ok {
		return enc
	}
	enc, err := zstd.NewWriter(nil, zstd.WithZeroFrames(true), zstd.WithEncoderLevel(level))
	if err != nil {
		// Arrow ignores this error; the options are constant and valid.
		panic(err)
	}
	if z.encs == nil {
		z.encs = map[zstd.EncoderLevel]*zstd.Encoder{}
	}
	z.encs[level] = enc
	return enc
}

// EncodeLevel compresses src as Arrow's zstd codec does, level mapped the
// same way.
func (z *reusedZstd) EncodeLevel(dst, src []byte, level int) []byte {
	l := zstd.EncoderLevelFromZstd(level)
	if level == compress.DefaultCompressionLevel {
		l = zstd.SpeedDefault
	}
	return z.encoder(l).EncodeAll(src, dst[:0])
}

// slackAllocator is Arrow's Go allocator, except that a reallocation
// beyond a slice's capacity reserves at least twice that capacity, so a
// buffer grown a few bytes at a time is copied a logarithmic number of
// times. Requests that already double (the builders', the encoders' value
// buffers) get exactly what they ask. The bytes past the length are the
// zeroes make gives, as with the Go allocator.
type slackAllocator struct{}

// goAllocator is the allocator slackAllocator is built on: the one
// Arrow's pool uses by default.
var goAllocator = memory.NewGoAllocator()

func (slackAllocator) Allocate(size int) []byte { return goAllocator.Allocate(size) }

func (slackAllocator) Reallocate(size int, b []byte) []byte {
	if cap(b) >= size {
		return b[:size]
	}
	n := max(size, 2*cap(b))
	buf := goAllocator.Allocate(n)[:size]
	copy(buf, b)
	return buf
}

func (slackAllocator) Free(b []byte) { goAllocator.Free(b) }
