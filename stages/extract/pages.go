package extract

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/apache/arrow/go/v15/parquet/metadata"
	"github.com/apache/thrift/lib/go/thrift"
)

// Page types of the Parquet format (parquet.thrift PageType).
const (
	pageData       = 0
	pageDictionary = 2
	pageDataV2     = 3
)

// Page header sizes tried, as Arrow's reader does: most headers fit the
// first, statistics of long strings may need more.
const (
	firstHeaderRead = 16 << 10
	maxHeaderRead   = 4 << 20
)

// pageHeader is what checkPages needs of a parquet.thrift PageHeader.
type pageHeader struct {
	typ             int32
	compressedSize  int32
	numValues       int32
	hasValueHeader  bool
	headerByteCount int64
}

// checkPages walks the page headers of the row group's column chunks
// before Arrow decodes them. Arrow's page reader reads a chunk through a
// buffer that Peek pads past the chunk's end with stale bytes, so a corrupt
// chunk can make it parse the same padding as a page header forever (fuzzing
// found one that spun for more than ten minutes on 177 bytes); it also never
// skips the body of a page type it does not know. The walk reads only the
// chunk's own bytes and insists that its data pages, each inside the
// chunk, carry exactly the values the footer declares; past that, Arrow
// stops by itself.
func checkPages(src io.ReaderAt, size int64, md *metadata.FileMetaData, rg int, leaves []int) error {
	rgm := md.RowGroup(rg)
	for _, leaf := range leaves {
		cc, err := rgm.ColumnChunk(leaf)
		if err != nil {
			return err
		}
		if cc.CryptoMetadata() != nil {
			continue // encrypted headers; Arrow decrypts and checks them
		}
		if err := checkChunk(src, size, md, cc); err != nil {
			return fmt.Errorf("column %q: %w", md.Schema.Column(leaf).Path(), err)
		}
	}
	return nil
}

func checkChunk(src io.ReaderAt, size int64, md *metadata.FileMetaData, cc *metadata.ColumnChunkMetaData) error {
	start := cc.DataPageOffset()
	if cc.HasDictionaryPage() && cc.DictionaryPageOffset() > 0 && cc.DictionaryPageOffset() < start {
		start = cc.DictionaryPageOffset()
	}
	length := cc.TotalCompressedSize()
	if start < 0 || length < 0 || start > size || length > size-start {
		return fmt.Errorf("the column chunk (%d bytes at byte %d) lies outside the file of %d bytes", length, start, size)
	}
	end := start + length
	// Arrow pads chunks of parquet-mr before 1.2.9, which left the
	// dictionary page header out of the chunk size (PARQUET-816).
	if md.WriterVersion().LessThan(metadata.Parquet816FixedVersion) {
		end = min(size, end+100)
	}
	var values int64
	for off := start; values < cc.NumValues(); {
		if off >= end {
			return fmt.Errorf("the pages hold %d of the %d values the footer declares", values, cc.NumValues())
		}
		h, err := readPageHeader(src, off, end-off)
		if err != nil {
			return fmt.Errorf("page header at byte %d: %w", off, err)
		}
		switch h.typ {
		case pageData, pageDataV2:
			if !h.hasValueHeader || h.numValues < 0 {
				return fmt.Errorf("data page at byte %d: no valid value count", off)
			}
			values += int64(h.numValues)
		case pageDictionary:
		default:
			return fmt.Errorf("page at byte %d: page type %d is not read", off, h.typ)
		}
		if h.compressedSize < 0 {
			return fmt.Errorf("page at byte %d: negative size %d", off, h.compressedSize)
		}
		off += h.headerByteCount + int64(h.compressedSize)
		if off > end {
			return fmt.Errorf("page at byte %d runs past the end of the column chunk", off)
		}
	}
	if values != cc.NumValues() {
		return fmt.Errorf("the pages hold %d values, the footer declares %d", values, cc.NumValues())
	}
	return nil
}

// readPageHeader decodes the header at off from at most limit bytes.
func readPageHeader(src io.ReaderAt, off, limit int64) (pageHeader, error) {
	for n := min(limit, firstHeaderRead); ; n = min(limit, 2*n) {
		buf := make([]byte, n)
		k, err := src.ReadAt(buf, off)
		if err != nil && !errors.Is(err, io.EOF) {
			return pageHeader{}, err
		}
		buf = buf[:k]
		h, err := decodePageHeader(buf)
		if err == nil || k < len(buf) || n == limit || n >= maxHeaderRead {
			return h, err
		}
	}
}

// decodePageHeader reads the fields checkPages needs and skips the rest.
func decodePageHeader(buf []byte) (pageHeader, error) {
	ctx := context.Background()
	mem := &thrift.TMemoryBuffer{Buffer: bytes.NewBuffer(buf)}
	p := thrift.NewTCompactProtocolConf(mem, &thrift.TConfiguration{})
	var h pageHeader
	var haveType, haveSize bool
	err := readStruct(ctx, p, func(id int16, t thrift.TType) (bool, error) {
		var err error
		switch {
		case id == 1 && t == thrift.I32:
			h.typ, err = p.ReadI32(ctx)
			haveType = true
		case id == 3 && t == thrift.I32:
			h.compressedSize, err = p.ReadI32(ctx)
			haveSize = true
		case (id == 5 || id == 8) && t == thrift.STRUCT:
			// DataPageHeader and DataPageHeaderV2 both start with
			// num_values (field 1, i32).
			err = readStruct(ctx, p, func(id int16, t thrift.TType) (bool, error) {
				if id != 1 || t != thrift.I32 {
					return false, nil
				}
				v, err := p.ReadI32(ctx)
				h.numValues, h.hasValueHeader = v, true
				return true, err
			})
		default:
			return false, nil
		}
		return true, err
	})
	if err != nil {
		return h, err
	}
	if !haveType || !haveSize {
		return h, errors.New("the header lacks its type or size")
	}
	h.headerByteCount = int64(len(buf) - mem.Len())
	return h, nil
}

// readStruct reads a thrift struct's fields, handing each to field, which
// reads it and says so, or leaves it to be skipped.
func readStruct(ctx context.Context, p thrift.TProtocol, field func(id int16, t thrift.TType) (bool, error)) error {
	if _, err := p.ReadStructBegin(ctx); err != nil {
		return err
	}
	for {
		_, t, id, err := p.ReadFieldBegin(ctx)
		if err != nil {
			return err
		}
		if t == thrift.STOP {
			break
		}
		done, err := field(id, t)
		if err != nil {
			return err
		}
		if !done {
			if err := p.Skip(ctx, t); err != nil {
				return err
			}
		}
		if err := p.ReadFieldEnd(ctx); err != nil {
			return err
		}
	}
	return p.ReadStructEnd(ctx)
}
