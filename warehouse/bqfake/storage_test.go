package bqfake

import (
	"context"
	"slices"
	"testing"

	"cloud.google.com/go/bigquery/storage/apiv1/storagepb"
	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"google.golang.org/grpc"
)

// rowsStream collects what ReadRows sends.
type rowsStream struct {
	grpc.ServerStream
	counts []int64
}

func (r *rowsStream) Send(m *storagepb.ReadRowsResponse) error {
	r.counts = append(r.counts, m.GetRowCount())
	return nil
}

// TestStorageStreams: a session is split into at most Streams streams, no
// more than the request's MaxStreamCount and the table's batches, batch i
// on stream i mod n; each stream resumes from a row offset of its own.
func TestStorageStreams(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	sc := arrow.NewSchema([]arrow.Field{{Name: "x", Type: arrow.PrimitiveTypes.Int64}}, nil)
	var recs []arrow.Record
	for n := 1; n <= 5; n++ { // batches of 1 to 5 rows
		b := array.NewRecordBuilder(mem, sc)
		for range n {
			b.Field(0).(*array.Int64Builder).Append(int64(n))
		}
		recs = append(recs, b.NewRecord())
		b.Release()
	}
	s := NewStorage()
	if err := s.Serve("p", "d", "t", sc, recs...); err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		r.Release()
	}
	tests := []struct {
		name    string
		streams int
		max     int32
		want    [][]int64 // batch row counts per stream
	}{
		{"one by default", 0, 0, [][]int64{{1, 2, 3, 4, 5}}},
		{"round robin", 2, 0, [][]int64{{1, 3, 5}, {2, 4}}},
		{"no more than batches", 8, 0, [][]int64{{1}, {2}, {3}, {4}, {5}}},
		{"ordered query asks for one", 4, 1, [][]int64{{1, 2, 3, 4, 5}}},
		{"request caps", 4, 3, [][]int64{{1, 4}, {2, 5}, {3}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s.Streams = tt.streams
			rs, err := s.CreateReadSession(context.Background(), &storagepb.CreateReadSessionRequest{
				ReadSession:    &storagepb.ReadSession{Table: "projects/p/datasets/d/tables/t", DataFormat: storagepb.DataFormat_ARROW},
				MaxStreamCount: tt.max,
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(rs.Streams) != len(tt.want) {
				t.Fatalf("%d streams, want %d", len(rs.Streams), len(tt.want))
			}
			for k, st := range rs.Streams {
				var got rowsStream
				if err := s.ReadRows(&storagepb.ReadRowsRequest{ReadStream: st.Name}, &got); err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(got.counts, tt.want[k]) {
					t.Errorf("stream %d sent batches of %v rows, want %v", k, got.counts, tt.want[k])
				}
				// Resuming after the stream's first batch sends the rest.
				var rest rowsStream
				if err := s.ReadRows(&storagepb.ReadRowsRequest{ReadStream: st.Name, Offset: tt.want[k][0]}, &rest); err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(rest.counts, tt.want[k][1:]) {
					t.Errorf("stream %d resumed sent %v, want %v", k, rest.counts, tt.want[k][1:])
				}
			}
		})
	}
}
