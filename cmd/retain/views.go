package main

import (
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"retain/pipeline"
	"retain/schemas"
)

func views(fs *flag.FlagSet) func(stdout, stderr io.Writer) error {
	job := fs.String("job", "", "read the output root from the YAML `FILE`'s output.path")
	output := fs.String("output", "", "read the tables under root folder `DIR` instead of the job file's output.path (default without --job: out)")
	return func(stdout, _ io.Writer) error {
		root := *output
		if root == "" {
			root = "out"
			if *job != "" {
				t, err := loadTarget(*job)
				if err != nil {
					return err
				}
				root = t.output
			}
		}
		return writeViews(stdout, root)
	}
}

// writeViews prints DuckDB SQL that defines, per output table, a view of
// every night and one of the latest committed night, reading the files
// under root. A glob over every table at once would union tables whose
// columns differ, so each table gets its own read.
func writeViews(w io.Writer, root string) error {
	var b strings.Builder
	fmt.Fprintf(&b, "-- DuckDB views of retain's tables under %s, from `retain views`.\n", root)
	b.WriteString("-- <table> holds every night; <table>_latest the latest night whose commit completed.\n")
	b.WriteString("-- snapshot_date is each file's folder name (snapshot_date=YYYY-MM-DD), not a column of the files:\n")
	b.WriteString("-- the reads take it from the path as a DATE (hive_partitioning) and put it first.\n")
	// The latest night is the newest date with _SUCCESS rather than a
	// table's newest snapshot_date: a table a night left empty (no bad rows,
	// no holdout) then shows no rows instead of an older night's.
	success := filepath.ToSlash(filepath.Join(pipeline.RunDir(root, "*"), pipeline.SuccessName))
	latest := fmt.Sprintf("(SELECT max(regexp_extract(file, 'snapshot_date=([0-9]{4}-[0-9]{2}-[0-9]{2})', 1))::DATE FROM glob(%s))", sqlString(success))
	for _, t := range schemas.Outputs() {
		fmt.Fprintf(&b, "\nCREATE OR REPLACE VIEW %s AS SELECT %s, * EXCLUDE (%s) FROM %s;\n", t.Name, schemas.PartitionColumn, schemas.PartitionColumn, schemas.ReadParquet(root, t.Name))
		fmt.Fprintf(&b, "CREATE OR REPLACE VIEW %s_latest AS SELECT * FROM %s WHERE snapshot_date = %s;\n", t.Name, t.Name, latest)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// sqlString quotes s as a SQL string literal.
func sqlString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
