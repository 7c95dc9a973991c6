package extract

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"retain/night"
	"retain/stages/internal/input"
)

// ReasonMalformedRow is the quarantine reason of a CSV record that does not
// split into the header's columns: a ragged row, or a quote in the wrong
// place on one line.
const ReasonMalformedRow = "malformed_row"

// ErrMalformed is wrapped when a CSV file has more malformed records than
// input.<table>.csv.max_malformed_share allows, or any in FX rates.
var ErrMalformed = errors.New("malformed CSV records")

// utf8BOM is what some exporters (Excel among them) write before the header.
var utf8BOM = []byte{0xef, 0xbb, 0xbf}

// csvFile is an open CSV file positioned after its header.
type csvFile struct {
	fh *os.File
	// read counts the bytes read of the file, for the progress lines.
	read *countingReader
	cr   *csv.Reader
	// header is nil for a file without a single record (0 bytes, or blank
	// lines only): an export that wrote nothing.
	header []string
}

// openCSV opens path and reads its header. Records are read as they are:
// any number of fields (the stage decides what a ragged one means), quotes
// strictly, bytes that are not UTF-8 passed through for validation to judge.
func openCSV(path string, src *night.Source) (*csvFile, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, pathless(err)
	}
	read := &countingReader{r: fh}
	// csv.NewReader keeps a *bufio.Reader this size as it is.
	br := bufio.NewReaderSize(read, 1<<16)
	if head, _ := br.Peek(len(utf8BOM)); bytes.Equal(head, utf8BOM) {
		br.Discard(len(utf8BOM))
	}
	cr := csv.NewReader(br)
	cr.Comma = comma(src)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	f := &csvFile{fh: fh, read: read, cr: cr}
	header, err := cr.Read()
	switch {
	case errors.Is(err, io.EOF):
		return f, nil
	case err != nil:
		fh.Close()
		return nil, fmt.Errorf("%w: read CSV header: %v", night.ErrInputSchema, err)
	}
	f.header = slices.Clone(header)
	return f, nil
}

func (f *csvFile) Close() error { return f.fh.Close() }

// malformedRecord is a CSV record quarantined as malformed_row.
type malformedRecord struct {
	line    int64
	fields  []string
	problem string
}

// csvDecoder splits the records after the header into batches of text
// columns, one per planned column. Every data record takes a row number,
// so a malformed one ends the batch it would have been in: the rows of a
// batch keep consecutive numbers from firstRow.
func (r *reader) csvDecoder(cf *csvFile, f *plannedFile) decoder {
	return func(send func(batch) bool) error {
		fields := make([]arrow.Field, len(f.columns))
		for i, c := range f.columns {
			fields[i] = arrow.Field{Name: c.source, Type: arrow.BinaryTypes.String, Nullable: true}
		}
		rb := array.NewRecordBuilder(r.rc.Mem, arrow.NewSchema(fields, nil))
		defer rb.Release()
		cols := make([]*array.StringBuilder, len(f.columns))
		for i := range cols {
			cols[i] = rb.Field(i).(*array.StringBuilder)
		}
		nulls := newNullSet(r.src.CSV.NullValues)
		width := len(cf.header)
		var (
			row, first int64 = 0, 1
			rows       int
			pending    []malformedRecord
			// reserve is the rows a batch is sized for up front: a full
			// batch, unless malformed records have been cutting them short.
			reserve = input.BatchRows
		)
		flush := func() bool {
			if rows == 0 && len(pending) == 0 {
				return true
			}
			b := batch{malformed: pending, firstRow: first}
			if rows > 0 {
				b.rec = rb.NewRecord()
				reserve = min(input.BatchRows, max(1024, 2*rows))
			}
			pending, rows = nil, 0
			return send(b)
		}
		for {
			rec, err := cf.cr.Read()
			if errors.Is(err, io.EOF) {
				break
			}
			row++
			m, err := checkRecord(cf.cr, rec, err, width, f.columns)
			if err != nil {
				return err
			}
			if m == nil {
				if rows == 0 {
					rb.Reserve(reserve)
				}
				for i, c := range f.columns {
					if v := rec[c.index]; nulls.has(v) {
						cols[i].AppendNull()
					} else {
						cols[i].Append(v)
					}
				}
				if rows++; rows == input.BatchRows {
					if !flush() {
						return nil
					}
					first = row + 1
				}
				continue
			}
			if rows > 0 && !flush() {
				return nil
			}
			pending = append(pending, *m)
			first = row + 1
			if len(pending) == input.BatchRows && !flush() {
				return nil
			}
		}
		flush()
		return nil
	}
}

// checkRecord returns the record as malformed when it does not split into
// width fields on one line, and fails the file when it cannot be told
// apart from its neighbours: a quoted field that runs over line ends and
// then breaks, a ragged record over several lines, or a line break in a
// mapped column (none of them holds one) is most likely a stray quote that
// joined rows, and quarantining or reading it as one row would hide the
// rows it swallowed.
func checkRecord(cr *csv.Reader, rec []string, err error, width int, cols []column) (*malformedRecord, error) {
	if err != nil {
		var pe *csv.ParseError
		if !errors.As(err, &pe) {
			return nil, err
		}
		if pe.Line != pe.StartLine {
			return nil, fmt.Errorf("%w: line %d: a quoted field runs on to line %d and then breaks (%v); a stray quote may have joined several rows, so the file is not read",
				ErrUnreadable, pe.StartLine, pe.Line, pe.Err)
		}
		return &malformedRecord{line: int64(pe.StartLine), fields: slices.Clone(rec), problem: pe.Err.Error()}, nil
	}
	line, _ := cr.FieldPos(0)
	last, _ := cr.FieldPos(len(rec) - 1)
	lines := last != line || strings.ContainsAny(rec[len(rec)-1], "\r\n")
	if len(rec) == width {
		if lines {
			for _, c := range cols {
				if strings.ContainsAny(rec[c.index], "\r\n") {
					return nil, fmt.Errorf("%w: line %d: column %q holds a line break; a stray quote may have joined several rows, so the file is not read",
						ErrUnreadable, line, c.source)
				}
			}
		}
		return nil, nil
	}
	if lines {
		return nil, fmt.Errorf("%w: line %d: a record of %d fields (the header has %d) runs over several lines; a stray quote may have joined several rows, so the file is not read",
			ErrUnreadable, line, len(rec), width)
	}
	return &malformedRecord{line: int64(line), fields: slices.Clone(rec), problem: fmt.Sprintf("%d fields where the header has %d", len(rec), width)}, nil
}

// nullSet holds the cell texts read as null.
type nullSet struct {
	empty  bool
	others []string
}

func newNullSet(values []string) nullSet {
	var n nullSet
	for _, v := range values {
		if v == "" {
			n.empty = true
		} else {
			n.others = append(n.others, v)
		}
	}
	return n
}

func (n nullSet) has(s string) bool {
	if s == "" {
		return n.empty
	}
	for _, o := range n.others {
		if s == o {
			return true
		}
	}
	return false
}

func comma(src *night.Source) rune {
	if d := src.CSV.Delimiter; d != "" {
		return []rune(d)[0]
	}
	return ','
}
