package pipeline

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/rs/zerolog"
)

// ErrPublish is wrapped when a run committed its tables locally but could not
// copy them to the warehouse: the run fails, the local tables stay.
var ErrPublish = errors.New("publish to warehouse")

// Publisher copies a committed date's tables somewhere else, such as a
// warehouse. It runs only after the local commit, so it always publishes
// exactly what the manifest describes, and a rerun of the date publishes
// again.
type Publisher interface {
	Publish(ctx context.Context, p Publication) error
}

// Publication is one committed date's tables.
type Publication struct {
	RunID   string
	RunDate string
	// Tables are the committed tables in schemas.Outputs order.
	Tables []PublishedTable
	// KeepDays and KeepMonthEnds are output.keep_days and
	// output.keep_month_ends, so a warehouse can expire old partitions as
	// the output root prunes old nights; KeepDays 0 keeps every partition.
	KeepDays      int
	KeepMonthEnds int
	Log           zerolog.Logger
}

// PublishedTable is one committed table partition.
type PublishedTable struct {
	Name string
	Rows int64
	// Files are the partition's Parquet files.
	Files []string
}

// publication lists the committed partitions of tables.
func publication(root, date, runID string, tables []string, rows map[string]int64, log zerolog.Logger) (Publication, error) {
	p := Publication{RunID: runID, RunDate: date, Log: log}
	for _, t := range tables {
		dir := PartitionDir(root, t, date)
		entries, err := os.ReadDir(dir)
		if err != nil {
			return p, err
		}
		pt := PublishedTable{Name: t, Rows: rows[t]}
		for _, e := range entries {
			if !e.IsDir() && strings.HasSuffix(e.Name(), ".parquet") {
				pt.Files = append(pt.Files, filepath.Join(dir, e.Name()))
			}
		}
		sort.Strings(pt.Files)
		p.Tables = append(p.Tables, pt)
	}
	return p, nil
}
