// Package bqfake is an in-process stand-in for the BigQuery REST API and
// the Storage Read API, for tests of code that goes through the real Go
// client (pointed at it with option.WithEndpoint). It keeps what the sink
// and source need and checks what BigQuery checks there: tables, load jobs
// into partition decorators with their write disposition, job id
// uniqueness, and query jobs (and dry runs of them) whose results and
// statistics the test provides.
package bqfake

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/apache/arrow/go/v15/parquet/file"
	"github.com/apache/arrow/go/v15/parquet/pqarrow"
	bq "google.golang.org/api/bigquery/v2"
)

// Server is the fake REST API. Its fields may be read under Lock/Unlock.
type Server struct {
	mu sync.Mutex
	// Tables by "project.dataset.table".
	Tables map[string]*bq.Table
	// Partitions counts rows per table and day (YYYYMMDD).
	Partitions map[string]map[string]int64
	// Jobs by job id.
	Jobs map[string]*bq.Job
	// LoadsRun counts load jobs that ran (not rejected as duplicates).
	LoadsRun int
	// Query answers query jobs: given the SQL and parameters it names the
	// result table (which it may add to Tables) or fails.
	Query func(sql string, params []*bq.QueryParameter) (*bq.TableReference, error)
	// Queries are the query jobs received, dry runs not included.
	Queries []*bq.JobConfigurationQuery
	// Stats, when set, gives a query's statistics (bytes processed and
	// billed, slot time), for its job and for a dry run of it, as BigQuery
	// reports them when the job is done. A dry run fails with its error;
	// a job that ran then has none.
	Stats func(sql string, params []*bq.QueryParameter) (*bq.JobStatistics2, error)
	// DryRuns are the dry-run queries received.
	DryRuns []*bq.JobConfigurationQuery
}

// New returns an empty fake.
func New() *Server {
	return &Server{Tables: map[string]*bq.Table{}, Partitions: map[string]map[string]int64{}, Jobs: map[string]*bq.Job{}}
}

// Lock guards the exported fields while a test reads them.
func (s *Server) Lock() { s.mu.Lock() }

// Unlock releases Lock.
func (s *Server) Unlock() { s.mu.Unlock() }

// Start serves the fake; the client endpoint is srv.URL + "/bigquery/v2/".
func (s *Server) Start() *httptest.Server { return httptest.NewServer(s) }

// Endpoint is the option.WithEndpoint value for a server started at url.
func Endpoint(url string) string { return url + "/bigquery/v2/" }

// apiError is BigQuery's JSON error body.
func apiError(w http.ResponseWriter, code int, reason, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{
		"code": code, "message": msg, "errors": []map[string]string{{"reason": reason, "message": msg}},
	}})
}

func reply(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

// ServeHTTP routes the calls the client makes.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	path := strings.TrimPrefix(r.URL.Path, "/upload")
	path = strings.TrimPrefix(path, "/bigquery/v2")
	p := strings.Split(strings.Trim(path, "/"), "/")
	switch {
	case r.Method == http.MethodGet && len(p) == 6 && p[0] == "projects" && p[2] == "datasets" && p[4] == "tables":
		key := p[1] + "." + p[3] + "." + p[5]
		t, ok := s.Tables[key]
		if !ok {
			apiError(w, http.StatusNotFound, "notFound", "Not found: Table "+key)
			return
		}
		reply(w, t)
	case r.Method == http.MethodPatch && len(p) == 6 && p[0] == "projects" && p[2] == "datasets" && p[4] == "tables":
		// Only the partition expiration is updated; BigQuery refuses to
		// change a table's partitioning column or type.
		key := p[1] + "." + p[3] + "." + p[5]
		t, ok := s.Tables[key]
		if !ok {
			apiError(w, http.StatusNotFound, "notFound", "Not found: Table "+key)
			return
		}
		var u bq.Table
		if err := json.NewDecoder(r.Body).Decode(&u); err != nil {
			apiError(w, http.StatusBadRequest, "invalid", err.Error())
			return
		}
		if tp := u.TimePartitioning; tp != nil {
			if t.TimePartitioning == nil || tp.Field != t.TimePartitioning.Field || tp.Type != t.TimePartitioning.Type {
				apiError(w, http.StatusBadRequest, "invalid", "Cannot change partitioning of "+key)
				return
			}
			t.TimePartitioning.ExpirationMs = tp.ExpirationMs
		}
		reply(w, t)
	case r.Method == http.MethodPost && len(p) == 5 && p[0] == "projects" && p[2] == "datasets" && p[4] == "tables":
		var t bq.Table
		if err := json.NewDecoder(r.Body).Decode(&t); err != nil {
			apiError(w, http.StatusBadRequest, "invalid", err.Error())
			return
		}
		key := p[1] + "." + p[3] + "." + t.TableReference.TableId
		if _, ok := s.Tables[key]; ok {
			apiError(w, http.StatusConflict, "duplicate", "Already Exists: Table "+key)
			return
		}
		t.Id = key
		s.Tables[key] = &t
		reply(w, t)
	case r.Method == http.MethodPost && len(p) == 3 && p[0] == "projects" && p[2] == "jobs":
		s.insertJob(w, r, p[1])
	case r.Method == http.MethodGet && len(p) == 4 && p[0] == "projects" && p[2] == "jobs":
		j, ok := s.Jobs[p[3]]
		if !ok {
			apiError(w, http.StatusNotFound, "notFound", "Not found: Job "+p[3])
			return
		}
		reply(w, j)
	case r.Method == http.MethodGet && len(p) == 4 && p[0] == "projects" && p[2] == "queries":
		j, ok := s.Jobs[p[3]]
		if !ok {
			apiError(w, http.StatusNotFound, "notFound", "Not found: Job "+p[3])
			return
		}
		if e := j.Status.ErrorResult; e != nil {
			// BigQuery answers for a failed query job with its error.
			apiError(w, http.StatusBadRequest, e.Reason, e.Message)
			return
		}
		res := &bq.GetQueryResultsResponse{JobComplete: true, JobReference: j.JobReference, TotalRows: 0}
		if dst := j.Configuration.Query.DestinationTable; dst != nil {
			if t, ok := s.Tables[dst.ProjectId+"."+dst.DatasetId+"."+dst.TableId]; ok {
				res.Schema = t.Schema
			}
		}
		reply(w, res)
	default:
		apiError(w, http.StatusNotImplemented, "notImplemented", r.Method+" "+r.URL.Path)
	}
}

// insertJob runs a job to completion before answering, as if BigQuery were
// instant; the client still polls it like a real one.
func (s *Server) insertJob(w http.ResponseWriter, r *http.Request, project string) {
	var j bq.Job
	var media []byte
	if r.URL.Query().Get("uploadType") != "" {
		var err error
		if j, media, err = readMultipart(r); err != nil {
			apiError(w, http.StatusBadRequest, "invalid", err.Error())
			return
		}
	} else if err := json.NewDecoder(r.Body).Decode(&j); err != nil {
		apiError(w, http.StatusBadRequest, "invalid", err.Error())
		return
	}
	if j.JobReference == nil || j.JobReference.JobId == "" {
		j.JobReference = &bq.JobReference{JobId: fmt.Sprintf("job_%d", len(s.Jobs)+1)}
	}
	j.JobReference.ProjectId = project
	if j.Configuration.DryRun && j.Configuration.Query != nil {
		s.dryRun(w, &j)
		return
	}
	id := j.JobReference.JobId
	if _, ok := s.Jobs[id]; ok {
		apiError(w, http.StatusConflict, "duplicate", "Already Exists: Job "+project+":"+id)
		return
	}
	var err error
	switch {
	case j.Configuration.Load != nil:
		s.LoadsRun++
		err = s.runLoad(j.Configuration.Load, media)
	case j.Configuration.Query != nil:
		err = s.runQuery(project, &j)
	default:
		err = fmt.Errorf("unsupported job type")
	}
	j.Status = &bq.JobStatus{State: "DONE"}
	if err != nil {
		j.Status.ErrorResult = &bq.ErrorProto{Reason: "invalid", Message: err.Error()}
		j.Status.Errors = []*bq.ErrorProto{j.Status.ErrorResult}
	}
	now := time.Now().UnixMilli()
	j.Statistics = &bq.JobStatistics{CreationTime: now, StartTime: now, EndTime: now}
	if q := j.Configuration.Query; q != nil && err == nil && s.Stats != nil {
		if st, serr := s.Stats(q.Query, q.QueryParameters); serr == nil && st != nil {
			j.Statistics.Query = st
			j.Statistics.TotalBytesProcessed = st.TotalBytesProcessed
			j.Statistics.TotalSlotMs = st.TotalSlotMs
		}
	}
	s.Jobs[id] = &j
	reply(w, &j)
}

func readMultipart(r *http.Request) (bq.Job, []byte, error) {
	var j bq.Job
	_, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		return j, nil, err
	}
	mr := multipart.NewReader(r.Body, params["boundary"])
	meta, err := mr.NextPart()
	if err != nil {
		return j, nil, err
	}
	if err := json.NewDecoder(meta).Decode(&j); err != nil {
		return j, nil, err
	}
	part, err := mr.NextPart()
	if err != nil {
		return j, nil, err
	}
	media, err := io.ReadAll(part)
	return j, media, err
}

// runLoad applies a Parquet load into a partition decorator the way
// BigQuery does: the table must exist, every row must belong to the named
// day, and WRITE_TRUNCATE replaces that day only.
func (s *Server) runLoad(cfg *bq.JobConfigurationLoad, media []byte) error {
	if cfg.SourceFormat != "PARQUET" {
		return fmt.Errorf("source format %q: the fake loads PARQUET only", cfg.SourceFormat)
	}
	dst := cfg.DestinationTable
	name, day, ok := strings.Cut(dst.TableId, "$")
	if !ok {
		return fmt.Errorf("the fake loads into partition decorators only")
	}
	key := dst.ProjectId + "." + dst.DatasetId + "." + name
	t, exists := s.Tables[key]
	if !exists {
		return fmt.Errorf("Not found: Table %s", key)
	}
	dates, n, err := snapshotDates(media, t.TimePartitioning.Field)
	if err != nil {
		return err
	}
	for d := range dates {
		if d != day {
			return fmt.Errorf("row with %s %s outside partition %s", t.TimePartitioning.Field, d, day)
		}
	}
	if s.Partitions[key] == nil {
		s.Partitions[key] = map[string]int64{}
	}
	switch cfg.WriteDisposition {
	case "WRITE_TRUNCATE":
		s.Partitions[key][day] = n
	case "WRITE_APPEND", "":
		s.Partitions[key][day] += n
	default:
		return fmt.Errorf("write disposition %q", cfg.WriteDisposition)
	}
	return nil
}

// snapshotDates reads the partition column of a Parquet file.
func snapshotDates(media []byte, col string) (map[string]bool, int64, error) {
	pf, err := file.NewParquetReader(bytes.NewReader(media))
	if err != nil {
		return nil, 0, fmt.Errorf("not Parquet: %w", err)
	}
	defer pf.Close()
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: 1 << 16}, memory.DefaultAllocator)
	if err != nil {
		return nil, 0, err
	}
	idx := pf.MetaData().Schema.ColumnIndexByName(col)
	if idx < 0 {
		return nil, 0, fmt.Errorf("no column %s in the file", col)
	}
	rr, err := fr.GetRecordReader(context.Background(), []int{idx}, nil)
	if err != nil {
		return nil, 0, err
	}
	defer rr.Release()
	dates := map[string]bool{}
	var n int64
	for rr.Next() {
		c, ok := rr.Record().Column(0).(*array.Date32)
		if !ok {
			return nil, 0, fmt.Errorf("%s is not a DATE column", col)
		}
		for i := 0; i < c.Len(); i++ {
			dates[c.Value(i).ToTime().Format("20060102")] = true
		}
		n += int64(c.Len())
	}
	return dates, n, nil
}

// dryRun answers a dry run as BigQuery does: at once, with the estimate and
// no job kept, so its id may be used again.
func (s *Server) dryRun(w http.ResponseWriter, j *bq.Job) {
	q := j.Configuration.Query
	s.DryRuns = append(s.DryRuns, q)
	st := &bq.JobStatistics2{}
	if s.Stats != nil {
		var err error
		if st, err = s.Stats(q.Query, q.QueryParameters); err != nil {
			apiError(w, http.StatusBadRequest, "invalidQuery", err.Error())
			return
		}
		if st == nil {
			st = &bq.JobStatistics2{}
		}
	}
	j.Status = &bq.JobStatus{State: "DONE"}
	j.Statistics = &bq.JobStatistics{Query: st, TotalBytesProcessed: st.TotalBytesProcessed}
	reply(w, j)
}

func (s *Server) runQuery(project string, j *bq.Job) error {
	q := j.Configuration.Query
	s.Queries = append(s.Queries, q)
	if s.Query == nil {
		return fmt.Errorf("the fake has no answer for queries")
	}
	dst, err := s.Query(q.Query, q.QueryParameters)
	if err != nil {
		return err
	}
	q.DestinationTable = dst
	return nil
}

// ArrowTable registers a table whose schema is sc in BigQuery types, as
// the Storage Read API would serve it, and returns its reference. Call it
// from Query or before Start.
func (s *Server) ArrowTable(project, dataset, table string, sc *arrow.Schema) *bq.TableReference {
	fields := make([]*bq.TableFieldSchema, sc.NumFields())
	for i, f := range sc.Fields() {
		fields[i] = &bq.TableFieldSchema{Name: f.Name, Type: bqType(f.Type), Mode: "NULLABLE"}
	}
	ref := &bq.TableReference{ProjectId: project, DatasetId: dataset, TableId: table}
	s.Tables[project+"."+dataset+"."+table] = &bq.Table{TableReference: ref, Schema: &bq.TableSchema{Fields: fields}}
	return ref
}

func bqType(t arrow.DataType) string {
	switch t.ID() {
	case arrow.INT64:
		return "INTEGER"
	case arrow.FLOAT64:
		return "FLOAT"
	case arrow.TIMESTAMP:
		return "TIMESTAMP"
	case arrow.DATE32:
		return "DATE"
	case arrow.BOOL:
		return "BOOLEAN"
	case arrow.DECIMAL128:
		return "NUMERIC"
	}
	return "STRING"
}
