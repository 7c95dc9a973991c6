package bqfake

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"sync"

	"cloud.google.com/go/bigquery/storage/apiv1/storagepb"
	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/ipc"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
)

// Storage is a fake BigQuery Storage Read API serving tables as Arrow IPC,
// one message per record batch, over one or several streams per session.
type Storage struct {
	storagepb.UnimplementedBigQueryReadServer
	mu      sync.Mutex
	tables  map[string]*ipcTable
	streams map[string]*ipcTable
	// Streams is how many streams a read session may be split into (0 or
	// 1: one). As BigQuery does, a session gets no more streams than the
	// request's MaxStreamCount (when set) and than the table has batches;
	// batch i goes to stream i mod n, so the client, which reads streams
	// concurrently, sees batches in another order than they were served.
	Streams int
	// Sessions are the read sessions requested.
	Sessions []*storagepb.CreateReadSessionRequest
	// FailReads is how many ReadRows calls fail with Unavailable, after
	// sending their first batch, as when a stream breaks mid-way.
	FailReads int
	// Reads counts ReadRows calls.
	Reads int
}

type ipcTable struct {
	schema  []byte
	batches [][]byte
	rows    []int64
}

// NewStorage returns a fake with no tables.
func NewStorage() *Storage {
	return &Storage{tables: map[string]*ipcTable{}, streams: map[string]*ipcTable{}}
}

// Serve makes recs the contents of project.dataset.table. The records are
// serialized at once; the caller keeps ownership of them.
func (s *Storage) Serve(project, dataset, table string, sc *arrow.Schema, recs ...arrow.Record) error {
	var buf bytes.Buffer
	w := ipc.NewWriter(&buf, ipc.WithSchema(sc))
	if err := w.Close(); err != nil {
		return err
	}
	// What is left without the 8-byte end-of-stream marker is the schema
	// message, as a read session carries it.
	t := &ipcTable{schema: bytes.Clone(buf.Bytes()[:buf.Len()-8])}
	for _, rec := range recs {
		var b bytes.Buffer
		w := ipc.NewWriter(&b, ipc.WithSchema(sc))
		if err := w.Write(rec); err != nil {
			return err
		}
		if !bytes.HasPrefix(b.Bytes(), t.schema) {
			return fmt.Errorf("record schema differs from the table's")
		}
		t.batches = append(t.batches, bytes.Clone(b.Bytes()[len(t.schema):]))
		t.rows = append(t.rows, rec.NumRows())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tables[tablePath(project, dataset, table)] = t
	return nil
}

func tablePath(project, dataset, table string) string {
	return "projects/" + project + "/datasets/" + dataset + "/tables/" + table
}

// CreateReadSession splits the table into streams (see Streams).
func (s *Storage) CreateReadSession(_ context.Context, req *storagepb.CreateReadSessionRequest) (*storagepb.ReadSession, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.Sessions = append(s.Sessions, req)
	name := req.GetReadSession().GetTable()
	t, ok := s.tables[name]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "table %s not found", name)
	}
	if req.GetReadSession().GetDataFormat() != storagepb.DataFormat_ARROW {
		return nil, status.Error(codes.InvalidArgument, "the fake serves ARROW only")
	}
	n := max(1, min(s.Streams, len(t.batches)))
	if m := int(req.GetMaxStreamCount()); m > 0 {
		n = min(n, m)
	}
	session := fmt.Sprintf("projects/x/locations/x/sessions/%d", len(s.Sessions))
	var streams []*storagepb.ReadStream
	for k := range n {
		part := &ipcTable{schema: t.schema}
		for i := k; i < len(t.batches); i += n {
			part.batches = append(part.batches, t.batches[i])
			part.rows = append(part.rows, t.rows[i])
		}
		stream := fmt.Sprintf("%s/streams/%d", session, k)
		s.streams[stream] = part
		streams = append(streams, &storagepb.ReadStream{Name: stream})
	}
	return &storagepb.ReadSession{
		Name:       session,
		Table:      name,
		DataFormat: storagepb.DataFormat_ARROW,
		Schema:     &storagepb.ReadSession_ArrowSchema{ArrowSchema: &storagepb.ArrowSchema{SerializedSchema: t.schema}},
		Streams:    streams,
	}, nil
}

// ReadRows sends a stream's batches from the requested row offset (within
// the stream) on.
func (s *Storage) ReadRows(req *storagepb.ReadRowsRequest, stream storagepb.BigQueryRead_ReadRowsServer) error {
	s.mu.Lock()
	t := s.streams[req.GetReadStream()]
	s.Reads++
	fail := s.FailReads > 0
	if fail {
		s.FailReads--
	}
	s.mu.Unlock()
	if t == nil {
		return status.Errorf(codes.NotFound, "stream %s not found", req.GetReadStream())
	}
	var at int64
	for i, b := range t.batches {
		if at >= req.GetOffset() {
			err := stream.Send(&storagepb.ReadRowsResponse{
				RowCount: t.rows[i],
				Rows:     &storagepb.ReadRowsResponse_ArrowRecordBatch{ArrowRecordBatch: &storagepb.ArrowRecordBatch{SerializedRecordBatch: b, RowCount: t.rows[i]}},
			})
			if err != nil {
				return err
			}
			if fail {
				return status.Error(codes.Unavailable, "injected: stream broken")
			}
		}
		at += t.rows[i]
	}
	return nil
}

// Start serves the fake on a local port and returns its address for Dial,
// and a function that stops it.
func (s *Storage) Start() (string, func(), error) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := grpc.NewServer()
	storagepb.RegisterBigQueryReadServer(srv, s)
	go srv.Serve(lis)
	return lis.Addr().String(), srv.Stop, nil
}

// Dial connects to a fake at addr, for option.WithGRPCConn. Closing the
// BigQuery client closes the connection, so each client needs its own.
func Dial(addr string) (*grpc.ClientConn, error) {
	// The real client allows large messages; a connection passed with
	// option.WithGRPCConn must too.
	return grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(1<<28)))
}
