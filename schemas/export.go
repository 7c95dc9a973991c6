package schemas

import (
	"encoding/json"
	"fmt"
	"io"

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

// BigQuerySchema is the table's schema as `bq mk --schema` reads it.
func (t Table) BigQuerySchema() ([]BigQueryField, error) {
	fields := make([]BigQueryField, len(t.Columns))
	for i, c := range t.Columns {
		typ, err := BigQueryType(c.Type)
		if err != nil {
			return nil, fmt.Errorf("%s.%s: %w", t.Name, c.Name, err)
		}
		mode := "REQUIRED"
		if c.Nullable {
			mode = "NULLABLE"
		}
		fields[i] = BigQueryField{Name: c.Name, Type: typ, Mode: mode, Description: c.Doc}
	}
	return fields, nil
}

// WriteBigQuery prints the BigQuery JSON schema of one output table, or of
// all of them keyed by table name when table is empty.
func WriteBigQuery(w io.Writer, table string) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if table != "" {
		t, ok := Lookup(table)
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
	for _, t := range Outputs() {
		f, err := t.BigQuerySchema()
		if err != nil {
			return err
		}
		all[t.Name] = f
	}
	return enc.Encode(all)
}

type dbtColumn struct {
	Name        string   `yaml:"name"`
	Description string   `yaml:"description"`
	DataType    string   `yaml:"data_type"`
	Tests       []string `yaml:"data_tests,omitempty"`
}

type dbtTable struct {
	Name        string      `yaml:"name"`
	Description string      `yaml:"description"`
	Columns     []dbtColumn `yaml:"columns"`
}

type dbtSource struct {
	Name        string     `yaml:"name"`
	Description string     `yaml:"description"`
	Schema      string     `yaml:"schema"`
	Tables      []dbtTable `yaml:"tables"`
}

// WriteDBT prints a dbt sources.yml declaring every output table, with
// column descriptions, BigQuery data types and not_null tests on required
// columns, so dbt docs and tests see retain's tables as documented here.
func WriteDBT(w io.Writer, source, schema string) error {
	src := dbtSource{Name: source, Schema: schema, Description: "Tables written nightly by retain, partitioned by snapshot_date."}
	for _, t := range Outputs() {
		dt := dbtTable{Name: t.Name, Description: t.Doc + " Grain: " + t.Grain + "."}
		for _, c := range t.Columns {
			typ, err := BigQueryType(c.Type)
			if err != nil {
				return err
			}
			col := dbtColumn{Name: c.Name, Description: c.Doc, DataType: typ}
			if !c.Nullable {
				col.Tests = []string{"not_null"}
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
