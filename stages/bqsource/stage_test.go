package bqsource_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/memory"
	bq "google.golang.org/api/bigquery/v2"
	"google.golang.org/api/option"

	"retain/engine"
	"retain/night"
	"retain/schemas"
	"retain/stages/bqsource"
	"retain/stages/internal/stagetest"
	"retain/stages/validate/validateconfig"
	"retain/warehouse/bqclient"
	"retain/warehouse/bqfake"
)

// Each case reads orders from the table shop-analytics.sales.<case folder>
// (its job.yaml names it so) of an in-process BigQuery, through the real
// client. The case's files/ folder holds what BigQuery has and answers:
//
//	schema.json  the table's columns, as `bq show --schema` prints them
//	query.sql    the query the stage must send, then one line
//	             "-- @name TYPE value" per query parameter
//	result.csv   the query's answer, the rows BigQuery would return: its
//	             columns are the query's aliases, each typed as the Storage
//	             Read API delivers the source column behind it, and the
//	             BOOLEAN _shared_order_id last
//
// A case that fails before its query needs only schema.json.
const (
	project = "shop-analytics"
	dataset = "sales"
	// resultBatchRows cuts the answer into Arrow batches of this many
	// rows, so the stage reads a stream of several.
	resultBatchRows = 2
)

// TestStage runs the cases under testdata/ through the extract stage, with
// this package's warehouse reader pointed at the fakes.
func TestStage(t *testing.T) {
	cases, err := os.ReadDir("testdata")
	if err != nil {
		t.Fatal(err)
	}
	fake := bqfake.New()
	for _, c := range cases {
		if !c.IsDir() {
			continue
		}
		fields, err := readSchema(filepath.Join("testdata", c.Name(), "files", "schema.json"))
		if err != nil {
			t.Fatal(err)
		}
		fake.Tables[project+"."+dataset+"."+c.Name()] = &bq.Table{Schema: &bq.TableSchema{Fields: fields}}
	}
	storage := bqfake.NewStorage()
	fake.Query = func(sql string, params []*bq.QueryParameter) (*bq.TableReference, error) {
		return answer(fake, storage, sql, params)
	}
	srv := fake.Start()
	defer srv.Close()
	addr, stop, err := storage.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer stop()

	// Closing the stage's client closes its connection, so every stage
	// built dials its own.
	warehouse := func(ctx context.Context, rc *night.Context) (engine.Stage, error) {
		conn, err := bqfake.Dial(addr)
		if err != nil {
			return nil, err
		}
		return bqsource.New(bqclient.Options{
			REST:    []option.ClientOption{option.WithEndpoint(bqfake.Endpoint(srv.URL)), option.WithoutAuthentication()},
			Storage: []option.ClientOption{option.WithGRPCConn(conn), option.WithoutAuthentication()},
			Retry:   bqclient.Policy{Attempts: 1},
		}, nil)(ctx, rc)
	}
	stagetest.Run(t, stagetest.Config{
		// In a run the extract stage hands input.orders to this reader; the
		// spec here declares what extract's does.
		Register: func(r *night.Registry) error {
			return r.Register(night.Spec{
				Name:    "bqsource",
				Outputs: []string{schemas.RawOrders, schemas.OrderCells.Name, schemas.Quarantine.Name},
				New:     warehouse,
			}, night.InputSection, validateconfig.Section)
		},
	})
}

// readSchema reads a table's columns in BigQuery's JSON form.
func readSchema(path string) ([]*bq.TableFieldSchema, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var fields []*bq.TableFieldSchema
	if err := json.Unmarshal(raw, &fields); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return fields, nil
}

var (
	fromTable = regexp.MustCompile("FROM `" + project + `\.` + dataset + "\\.([^`]+)`")
	selected  = regexp.MustCompile("`([^`]+)` AS `([^`]+)`")
)

// answer is the fake's reply to a query: the case is the table it reads
// from, the query must be the case's query.sql, and the result, served to
// the Storage Read API, is its result.csv.
func answer(fake *bqfake.Server, storage *bqfake.Storage, sql string, params []*bq.QueryParameter) (*bq.TableReference, error) {
	m := fromTable.FindStringSubmatch(sql)
	if m == nil {
		return nil, fmt.Errorf("query reads no table of %s.%s: %s", project, dataset, sql)
	}
	name := m[1]
	dir := filepath.Join("testdata", name, "files")
	got := sql + "\n"
	for _, p := range params {
		got += fmt.Sprintf("-- @%s %s %s\n", p.Name, p.ParameterType.Type, p.ParameterValue.Value)
	}
	want, err := os.ReadFile(filepath.Join(dir, "query.sql"))
	if err != nil {
		return nil, err
	}
	if got != string(want) {
		return nil, fmt.Errorf("the query is not %s/query.sql:\n%s", dir, got)
	}

	fields, err := readSchema(filepath.Join(dir, "schema.json"))
	if err != nil {
		return nil, err
	}
	types := map[string]string{}
	for _, f := range fields {
		types[f.Name] = f.Type
	}
	var cols []arrow.Field
	for _, s := range selected.FindAllStringSubmatch(sql, -1) {
		t, err := delivered(types[s[1]])
		if err != nil {
			return nil, fmt.Errorf("column %s: %w", s[1], err)
		}
		cols = append(cols, arrow.Field{Name: s[2], Type: t, Nullable: true})
	}
	if strings.Contains(sql, " AS `_shared_order_id`") {
		cols = append(cols, arrow.Field{Name: "_shared_order_id", Type: arrow.FixedWidthTypes.Boolean, Nullable: true})
	}
	schema := arrow.NewSchema(cols, nil)
	recs, err := stagetest.ReadCSV(filepath.Join(dir, "result.csv"), schema, resultBatchRows, memory.NewGoAllocator())
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s has no result.csv for the query", dir)
	}
	if err != nil {
		return nil, err
	}
	defer func() {
		for _, r := range recs {
			r.Release()
		}
	}()
	if err := storage.Serve(project, "_anon", name, schema, recs...); err != nil {
		return nil, err
	}
	return fake.ArrowTable(project, "_anon", name, schema), nil
}

// delivered is the Arrow type the Storage Read API sends a column of a
// BigQuery type as; the types the case files can spell only.
func delivered(bqType string) (arrow.DataType, error) {
	switch strings.ToUpper(bqType) {
	case "STRING":
		return arrow.BinaryTypes.String, nil
	case "INTEGER", "INT64":
		return arrow.PrimitiveTypes.Int64, nil
	case "FLOAT", "FLOAT64":
		return arrow.PrimitiveTypes.Float64, nil
	case "BOOLEAN", "BOOL":
		return arrow.FixedWidthTypes.Boolean, nil
	case "TIMESTAMP":
		return &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, nil
	case "DATE":
		return arrow.FixedWidthTypes.Date32, nil
	}
	return nil, fmt.Errorf("type %q has no form in case files", bqType)
}
