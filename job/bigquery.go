package job

import (
	"fmt"

	"retain/warehouse/bqident"
)

// BigQuery says which project runs BigQuery jobs, where, and as whom.
// Credentials come from Application Default Credentials unless
// CredentialsFile names a service-account key file.
type BigQuery struct {
	// Project runs (and pays for) the jobs and holds the tables.
	Project string `yaml:"project"`
	// Location is the dataset's location, e.g. EU or europe-west3; empty
	// lets BigQuery infer it.
	Location string `yaml:"location"`
	// CredentialsFile is a service-account key file, relative to the job
	// file; empty means Application Default Credentials. Its contents are
	// never logged.
	CredentialsFile string `yaml:"credentials_file"`
}

// BigQuerySource reads input.orders from a BigQuery table or view. Only the
// mapped columns and the rows up to the end of the run date are read.
type BigQuerySource struct {
	BigQuery `yaml:",inline"`
	// Dataset and Table name the orders table (or a view over it).
	Dataset string `yaml:"dataset"`
	Table   string `yaml:"table"`
	// Pushdown validates the orders and folds them into per-customer daily
	// activity in BigQuery, so only those rows (and rejected rows) come
	// back. It needs typed columns: order_ts a TIMESTAMP, DATETIME or DATE,
	// amount a number; and no fx_rates or order_items.
	Pushdown bool `yaml:"pushdown"`
}

// Sink loads every committed table into a warehouse as well.
type Sink struct {
	// Kind is the warehouse; only bigquery.
	Kind     string `yaml:"kind"`
	BigQuery `yaml:",inline"`
	// Dataset holds the tables, which must exist; tables are created in it
	// from schemas/ when missing.
	Dataset string `yaml:"dataset"`
	// TablePrefix is put before every table name, e.g. retain_.
	TablePrefix string `yaml:"table_prefix"`
}

// Ref is the source table.
func (s *BigQuerySource) Ref() bqident.TableRef {
	return bqident.TableRef{Project: s.Project, Dataset: s.Dataset, Table: s.Table}
}

// Ref is the sink table that holds the output table named table.
func (s *Sink) Ref(table string) bqident.TableRef {
	return bqident.TableRef{Project: s.Project, Dataset: s.Dataset, Table: s.TablePrefix + table}
}

func (b *BigQuery) check(where string) error {
	if err := bqident.Project(b.Project); err != nil {
		return fmt.Errorf("%w: %s.project: %w", ErrInvalid, where, err)
	}
	if err := bqident.Location(b.Location); err != nil {
		return fmt.Errorf("%w: %s.location: %w", ErrInvalid, where, err)
	}
	return nil
}

func (s *BigQuerySource) check(where string) error {
	if err := s.BigQuery.check(where); err != nil {
		return err
	}
	if err := s.Ref().Check(); err != nil {
		return fmt.Errorf("%w: %s: %w", ErrInvalid, where, err)
	}
	return nil
}

func (s *Sink) check() error {
	if s.Kind != "bigquery" {
		return fmt.Errorf("%w: sink.kind %q: want bigquery", ErrInvalid, s.Kind)
	}
	if err := s.BigQuery.check("sink"); err != nil {
		return err
	}
	if err := bqident.Dataset(s.Dataset); err != nil {
		return fmt.Errorf("%w: sink.dataset: %w", ErrInvalid, err)
	}
	// The prefix is checked as part of the longest table name it makes.
	if err := bqident.Table(s.TablePrefix + "x"); err != nil {
		return fmt.Errorf("%w: sink.table_prefix: %w", ErrInvalid, err)
	}
	return nil
}
