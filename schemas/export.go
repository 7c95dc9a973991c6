package schemas

import (
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/apache/arrow/go/v15/arrow"
	"gopkg.in/yaml.v3"
)

// BigQueryType is the BigQuery column type that holds an Arrow type as
// retain writes it.
func BigQueryType(t arrow.DataType) (string, error) {
	switch t.ID() {
	case arrow.STRING, arrow.LARGE_STRING:
		return "STRING", nil
	case arrow.INT64, arrow.INT32:
		return "INT64", nil
	case arrow.FLOAT64:
		return "FLOAT64", nil
	case arrow.BOOL:
		return "BOOL", nil
	case arrow.DATE32:
		return "DATE", nil
	case arrow.TIMESTAMP:
		return "TIMESTAMP", nil
	}
	return "", fmt.Errorf("no BigQuery type for %s", t)
}

// BigQueryField is one entry of a BigQuery JSON schema file.
type BigQueryField struct {
	Name        string `json:"name"`
	Type        string `json:"type"`
	Mode        string `json:"mode"`
	Description string `json:"description"`
}

// BigQuerySchema is the table's schema as `bq mk --schema` reads it: its
// published columns, the partition key included, which a BigQuery table
// holds as its partition column.
func (t Table) BigQuerySchema() ([]BigQueryField, error) {
	cols := t.PublishedColumns()
	fields := make([]BigQueryField, len(cols))
	for i, c := range cols {
		typ, err := BigQueryType(c.Type)
		if err != nil {
			return nil, fmt.Errorf("%s.%s: %w", t.Name, c.Name, err)
		}
		mode := "REQUIRED"
		if c.Nullable {
			mode = "NULLABLE"
		}
		fields[i] = BigQueryField{Name: c.Name, Type: typ, Mode: mode, Description: t.Describe(c)}
	}
	return fields, nil
}

// WriteBigQuery prints the BigQuery JSON schema of one output table, or of
// all of them, as a job that sets nothing writes them.
func WriteBigQuery(w io.Writer, table string) error {
	return WriteBigQueryFor(w, table, DefaultLayout(), "")
}

// WriteBigQueryFor prints the BigQuery JSON schema of output table table as
// layout l shapes it: the JSON array `bq mk --schema` reads. With table
// empty it prints one JSON object whose keys are the BigQuery table names
// (prefix, e.g. the sink's table_prefix, before each output table's name)
// and whose values are those arrays, so `jq '.retain_customer_summary'`
// gives one table's file; a stream of bare arrays would not say which table
// each one is.
func WriteBigQueryFor(w io.Writer, table string, l Layout, prefix string) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if table != "" {
		t, ok := LookupFor(table, l)
		if !ok {
			return fmt.Errorf("no output table %q", table)
		}
		f, err := t.BigQuerySchema()
		if err != nil {
			return err
		}
		return enc.Encode(f)
	}
	all := map[string][]BigQueryField{}
	for _, t := range OutputsFor(l) {
		f, err := t.BigQuerySchema()
		if err != nil {
			return err
		}
		all[prefix+t.Name] = f
	}
	return enc.Encode(all)
}

type dbtColumn struct {
	Name        string            `yaml:"name"`
	Description string            `yaml:"description"`
	DataType    string            `yaml:"data_type"`
	Meta        map[string]string `yaml:"meta,omitempty"`
	Tests       []any             `yaml:"data_tests,omitempty"`
}

type dbtTable struct {
	Name          string            `yaml:"name"`
	Identifier    string            `yaml:"identifier,omitempty"`
	Description   string            `yaml:"description"`
	Meta          map[string]string `yaml:"meta,omitempty"`
	LoadedAtField string            `yaml:"loaded_at_field,omitempty"`
	Freshness     *dbtFreshness     `yaml:"freshness,omitempty"`
	Tests         []any             `yaml:"data_tests,omitempty"`
	Columns       []dbtColumn       `yaml:"columns"`
}

type dbtSource struct {
	Name        string     `yaml:"name"`
	Description string     `yaml:"description"`
	Database    string     `yaml:"database,omitempty"`
	Schema      string     `yaml:"schema"`
	Tables      []dbtTable `yaml:"tables"`
}

type dbtPeriod struct {
	Count  int    `yaml:"count"`
	Period string `yaml:"period"`
}

type dbtFreshness struct {
	WarnAfter  dbtPeriod `yaml:"warn_after"`
	ErrorAfter dbtPeriod `yaml:"error_after"`
}

// DBTOptions says what a dbt sources.yml declares beyond the columns.
type DBTOptions struct {
	// Source names the source; Schema and Database are the dataset (schema)
	// and project (database) that hold the tables, Database empty for the
	// profile's.
	Source, Schema, Database string
	Layout                   Layout
	// TablePrefix is put before every table's name in its identifier, as
	// the BigQuery sink's table_prefix names the tables it loads.
	TablePrefix string
	// OutputRoot, when set, is the root folder of file outputs: each table
	// gets dbt-duckdb's external_location, the read ReadParquet gives, so
	// the source runs without a load.
	OutputRoot string
	// AcceptedValues lists, by column name, every value a column may hold,
	// for an accepted_values test wherever a table has that column. The
	// segment and tier names come from the job, which this package does
	// not read.
	AcceptedValues map[string][]string
}

// nightlyTables have rows on every night with customers, so a stale
// snapshot_date means a missed night; the others can be empty (no bad
// rows, no holdout, no order items) for as long as a shop's data allows.
var nightlyTables = map[string]bool{
	CustomerSummary.Name: true, "customer_segments": true, SegmentSummary.Name: true, SegmentTransitions.Name: true,
	CohortRetention.Name: true, RetentionKPIs.Name: true, ModelFit.Name: true,
}

// customerTables have one row per customer and night.
var customerTables = map[string]bool{CustomerSummary.Name: true, "customer_segments": true}

// nightlyFreshness allows a night's run to come up to a day late: on a
// schedule, the newest snapshot_date is at most about 50 hours old (the
// date's midnight to the next night's run), 72 hours means a missed night.
var nightlyFreshness = dbtFreshness{WarnAfter: dbtPeriod{3, "day"}, ErrorAfter: dbtPeriod{4, "day"}}

// snapshotLoadedAt is snapshot_date as a timestamp: dbt's freshness check
// subtracts it from the current time, which a DATE does not support on
// every adapter. CAST … AS TIMESTAMP reads the same in BigQuery and DuckDB.
const snapshotLoadedAt = "cast(snapshot_date as timestamp)"

// customerNightKey is one text value per (customer_id, snapshot_date), so
// dbt's built-in unique test checks the pair: dbt has no built-in test on
// two columns, and this keeps a generated file free of packages.
const customerNightKey = "customer_id || '|' || cast(snapshot_date as string)"

// WriteDBT prints a dbt sources.yml declaring every output table, as
// WriteDBTFor with the default layout and no location.
func WriteDBT(w io.Writer, source, schema string) error {
	return WriteDBTFor(w, DBTOptions{Source: source, Schema: schema, Layout: DefaultLayout()})
}

// WriteDBTFor prints a dbt sources.yml declaring every output table as o
// places and shapes it: column descriptions, BigQuery data types, not_null
// on required columns, accepted_values on the columns o lists, unique on
// each customer and night, and freshness on snapshot_date for the tables
// every night fills, so dbt docs and tests see retain's tables as
// documented here.
func WriteDBTFor(w io.Writer, o DBTOptions) error {
	src := dbtSource{Name: o.Source, Schema: o.Schema, Database: o.Database, Description: "Tables written nightly by retain, partitioned by snapshot_date."}
	for _, t := range OutputsFor(o.Layout) {
		dt := dbtTable{Name: t.Name, Description: t.Doc + " Grain: " + t.Grain + "."}
		if o.TablePrefix != "" {
			dt.Identifier = o.TablePrefix + t.Name
		}
		if o.OutputRoot != "" {
			dt.Meta = map[string]string{"external_location": ReadParquet(o.OutputRoot, t.Name)}
		}
		if nightlyTables[t.Name] {
			f := nightlyFreshness
			dt.LoadedAtField, dt.Freshness = snapshotLoadedAt, &f
		}
		if customerTables[t.Name] {
			dt.Tests = []any{map[string]any{"unique": map[string]string{"column_name": customerNightKey}}}
		}
		for _, c := range t.PublishedColumns() {
			typ, err := BigQueryType(c.Type)
			if err != nil {
				return err
			}
			col := dbtColumn{Name: c.Name, Description: t.Describe(c), DataType: typ}
			// Over files the partition key is no column of theirs: the
			// external location's hive partitioning reads it from the
			// folder names.
			if o.OutputRoot != "" && c.Name == t.PartitionKey() {
				col.Meta = map[string]string{"source": "hive partition: the folder name " + PartitionColumn + "=YYYY-MM-DD, read by external_location with hive_partitioning"}
			}
			if !c.Nullable {
				col.Tests = append(col.Tests, "not_null")
			}
			if v, ok := o.AcceptedValues[c.Name]; ok {
				col.Tests = append(col.Tests, map[string]any{"accepted_values": map[string][]string{"values": v}})
			}
			dt.Columns = append(dt.Columns, col)
		}
		src.Tables = append(src.Tables, dt)
	}
	enc := yaml.NewEncoder(w)
	enc.SetIndent(2)
	defer enc.Close()
	return enc.Encode(struct {
		Version int         `yaml:"version"`
		Sources []dbtSource `yaml:"sources"`
	}{2, []dbtSource{src}})
}

// ReadParquet is the DuckDB table function that reads every night of
// output table table under root: each date's file, by its
// snapshot_date=YYYY-MM-DD folder, with snapshot_date, which the files do
// not hold, taken from the folder's name as a DATE (hive partitioning).
// DuckDB adds such a column after the files' columns.
func ReadParquet(root, table string) string {
	p := strings.TrimSuffix(filepath.ToSlash(root), "/") + "/" + table + "/" + PartitionColumn + "=*/*.parquet"
	return "read_parquet('" + strings.ReplaceAll(p, "'", "''") + "', hive_partitioning = true, hive_types = {'" + PartitionColumn + "': DATE})"
}
