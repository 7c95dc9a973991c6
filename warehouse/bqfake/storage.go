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
// one stream per table, one message per record batch.
type Storage struct {
	storagepb.UnimplementedBigQueryReadServer
	mu     sync.Mutex
	tables map[string]*ipcTable
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
func NewStorage() *Storage { return &Storage{tables: map[string]*ipcTable{}} }

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

// CreateReadSession answers with one stream over the whole table.
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
	return &storagepb.ReadSession{
		Name:       fmt.Sprintf("projects/x/locations/x/sessions/%d", len(s.Sessions)),
		Table:      name,
		DataFormat: storagepb.DataFormat_ARROW,
		Schema:     &storagepb.ReadSession_ArrowSchema{ArrowSchema: &storagepb.ArrowSchema{SerializedSchema: t.schema}},
		Streams:    []*storagepb.ReadStream{{Name: name + "/streams/0"}},
	}, nil
}

// ReadRows sends the table's batches from the requested row offset on.
func (s *Storage) ReadRows(req *storagepb.ReadRowsRequest, stream storagepb.BigQueryRead_ReadRowsServer) error {
	s.mu.Lock()
	var t *ipcTable
	for name, tt := range s.tables {
		if name+"/streams/0" == req.GetReadStream() {
			t = tt
		}
	}
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
