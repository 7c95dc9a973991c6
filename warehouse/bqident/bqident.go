// Package bqident checks and quotes BigQuery identifiers. Every project,
// dataset, table and column name that reaches SQL goes through it: names are
// matched against the narrowest pattern BigQuery documents for them and then
// backtick-quoted, so a job file can never smuggle SQL into a statement.
package bqident

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// ErrInvalid is wrapped by every rejected identifier.
var ErrInvalid = errors.New("invalid BigQuery identifier")

// The patterns are stricter than BigQuery in one way on purpose: no
// backticks, quotes, dots, spaces or non-ASCII letters anywhere, so a quoted
// name never needs escaping.
var (
	// Project ids: 6–30 characters, a lowercase letter first, then
	// lowercase letters, digits and hyphens, no trailing hyphen. Legacy
	// domain-scoped ids ("example.com:p") are refused: their dot would make
	// a quoted path ambiguous.
	projectRE = regexp.MustCompile(`^[a-z][a-z0-9-]{4,28}[a-z0-9]$`)
	// Dataset ids: letters, digits and underscores, at most 1024.
	datasetRE = regexp.MustCompile(`^[A-Za-z0-9_]+$`)
	// Table ids: letters, digits, underscores and hyphens, at most 1024
	// (BigQuery also allows some Unicode classes and spaces, which retain
	// does not need and refuses).
	tableRE = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
	// Column names: a letter or underscore first, then letters, digits and
	// underscores, at most 300.
	columnRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,299}$`)
	// Location: a multi-region (US, EU) or region name such as europe-west3.
	locationRE = regexp.MustCompile(`^[A-Za-z]{2}$|^[a-z]+-[a-z]+[0-9]+$`)
)

// Project checks a project id.
func Project(s string) error { return check("project", s, projectRE) }

// Dataset checks a dataset id.
func Dataset(s string) error { return checkLen("dataset", s, datasetRE, 1024) }

// Table checks a table id (also a table name prefix, which may be empty).
func Table(s string) error { return checkLen("table", s, tableRE, 1024) }

// Column checks a column name.
func Column(s string) error {
	if err := check("column", s, columnRE); err != nil {
		return err
	}
	// Names with these prefixes are reserved by BigQuery.
	for _, p := range []string{"_table_", "_file_", "_partition", "_row_timestamp", "__root__", "_colidentifier"} {
		if strings.HasPrefix(strings.ToLower(s), p) {
			return fmt.Errorf("%w: column %q uses the reserved prefix %q", ErrInvalid, s, p)
		}
	}
	return nil
}

// Location checks a location such as US, EU or europe-west3; empty is allowed
// (BigQuery then infers it).
func Location(s string) error {
	if s == "" {
		return nil
	}
	return check("location", s, locationRE)
}

// checkLen is check with a length limit longer than regexp repeats allow.
func checkLen(kind, s string, re *regexp.Regexp, max int) error {
	if len(s) > max {
		return fmt.Errorf("%w: %s longer than %d characters", ErrInvalid, kind, max)
	}
	return check(kind, s, re)
}

func check(kind, s string, re *regexp.Regexp) error {
	if !re.MatchString(s) {
		return fmt.Errorf("%w: %s %q", ErrInvalid, kind, s)
	}
	return nil
}

// TableRef names one table.
type TableRef struct {
	Project, Dataset, Table string
}

// Check checks every part.
func (r TableRef) Check() error {
	return errors.Join(Project(r.Project), Dataset(r.Dataset), Table(r.Table))
}

// Quoted is the table's `project.dataset.table` path for SQL. It checks the
// parts again, so a TableRef built in code cannot bypass the job file's check.
func (r TableRef) Quoted() (string, error) {
	if err := r.Check(); err != nil {
		return "", err
	}
	return "`" + r.Project + "." + r.Dataset + "." + r.Table + "`", nil
}

// String is project.dataset.table, for logs and messages.
func (r TableRef) String() string { return r.Project + "." + r.Dataset + "." + r.Table }

// QuoteColumn is a column name for SQL, checked and backtick-quoted.
func QuoteColumn(name string) (string, error) {
	if err := Column(name); err != nil {
		return "", err
	}
	return "`" + name + "`", nil
}
