package bqsink

import (
	"fmt"

	"retain/config"
	"retain/warehouse/bqclient"
	"retain/warehouse/bqident"
)

// Config is the job file's sink section: every committed table is also
// loaded into a BigQuery dataset.
type Config struct {
	Kind            string `yaml:"kind" doc:"The warehouse; only bigquery." enum:"bigquery"`
	Project         string `yaml:"project" doc:"The project that runs (and pays for) the load jobs and holds the dataset."`
	Location        string `yaml:"location" doc:"The dataset's location, e.g. EU or europe-west3; empty lets BigQuery infer it."`
	CredentialsFile string `yaml:"credentials_file" doc:"A service-account key file, relative to the job file; empty means Application Default Credentials. Its contents are never logged."`
	Dataset         string `yaml:"dataset" doc:"The dataset that holds the tables; it must exist, and tables are created in it from schemas/ when missing."`
	TablePrefix     string `yaml:"table_prefix" doc:"Put before every table name, e.g. retain_."`
}

// Defaults makes bigquery the kind of a sink the file names.
func (Config) Defaults() Config { return Config{Kind: "bigquery"} }

// Section is the job file's sink section; nil unless the file sets it.
var Section = config.NewSpec[*Config]("sink", "Also loads every committed table into day-partitioned BigQuery tables, after the local commit.", nil, check)

func check(c **Config, env config.Env) error {
	s := *c
	if s == nil {
		return nil
	}
	if err := bqident.Project(s.Project); err != nil {
		return fmt.Errorf("%w: sink.project: %w", config.ErrInvalid, err)
	}
	if err := bqident.Location(s.Location); err != nil {
		return fmt.Errorf("%w: sink.location: %w", config.ErrInvalid, err)
	}
	if err := bqident.Dataset(s.Dataset); err != nil {
		return fmt.Errorf("%w: sink.dataset: %w", config.ErrInvalid, err)
	}
	// The prefix is checked as part of the longest table name it makes.
	if err := bqident.Table(s.TablePrefix + "x"); err != nil {
		return fmt.Errorf("%w: sink.table_prefix: %w", config.ErrInvalid, err)
	}
	s.CredentialsFile = env.Resolve(s.CredentialsFile)
	return nil
}

// Ref is the sink table that holds the output table named table.
func (c *Config) Ref(table string) bqident.TableRef {
	return bqident.TableRef{Project: c.Project, Dataset: c.Dataset, Table: c.TablePrefix + table}
}

// Connection is how the sink reaches BigQuery.
func (c *Config) Connection() bqclient.Connection {
	return bqclient.Connection{Project: c.Project, Location: c.Location, CredentialsFile: c.CredentialsFile}
}
