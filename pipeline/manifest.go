package pipeline

import (
	"runtime/debug"
	"time"

	"retain/engine"
	"retain/night"
	"retain/schemas"
)

// Manifest records what one run did; it is written next to _SUCCESS and is
// the first thing to read when a number looks wrong.
type Manifest struct {
	RunID      string           `json:"run_id"`
	RunDate    string           `json:"run_date"`
	Job        string           `json:"job"`
	Timezone   string           `json:"timezone"`
	Version    string           `json:"version"`
	StartedAt  time.Time        `json:"started_at"`
	FinishedAt time.Time        `json:"finished_at"`
	Rows       night.Accounting `json:"row_accounting"`
	Totals     RowTotals        `json:"row_totals"`
	// Currency is the ISO code of every money column, null when unknown;
	// MoneyDecimals the decimals they are rounded to.
	Currency      *string `json:"currency"`
	MoneyDecimals int     `json:"money_decimals"`
	// ItemRows accounts for input.order_items rows when the job reads them.
	ItemRows *night.Accounting `json:"item_accounting,omitempty"`
	Tables   []TableManifest   `json:"tables"`
	// Artifacts are other committed files' folders, such as the report.
	Artifacts []string `json:"artifacts,omitempty"`
	// ArtifactRows counts the rows of artifact files such as audience lists.
	ArtifactRows map[string]int64 `json:"artifact_rows,omitempty"`
	// ModelFits times each row of model_fit.
	ModelFits []night.ModelFitTime `json:"model_fits,omitempty"`
	// Queries are the BigQuery query jobs the run issued to read its
	// input, with what each processed, billed and returned.
	Queries []night.QueryStat  `json:"queries,omitempty"`
	Stages  []engine.StageStat `json:"stages"`
	// Volume is what the volume guard compared rows_read with, when the job
	// has an earlier committed night.
	Volume *VolumeCheck `json:"volume_check,omitempty"`
	// PrunedDates are the nights outside output.keep_days that the run
	// removes once it has committed; one a failure left is removed by the
	// next run.
	PrunedDates []string `json:"pruned_dates,omitempty"`
}

// RowTotals is the accounting identity spelled out: read = used + quarantined + excluded.
type RowTotals struct {
	Read        int64 `json:"rows_read"`
	Used        int64 `json:"rows_used"`
	Quarantined int64 `json:"rows_quarantined"`
	Excluded    int64 `json:"rows_excluded"`
}

// TableManifest describes one written table.
type TableManifest struct {
	Name string `json:"name"`
	Path string `json:"path"`
	Rows int64  `json:"rows"`
	// PartitionKey is the key of Path's last folder (snapshot_date=D),
	// which readers take as a column; the files do not hold it.
	PartitionKey string `json:"partition_key,omitempty"`
	// Columns are the columns of the table's files, in file order.
	Columns []ColumnManifest `json:"columns"`
}

// ColumnManifest is one column of a written table.
type ColumnManifest struct {
	Name     string `json:"name"`
	Type     string `json:"type"`
	Nullable bool   `json:"nullable"`
}

func newTableManifest(t schemas.Table, path string, rows int64) TableManifest {
	tm := TableManifest{Name: t.Name, Path: path, Rows: rows, PartitionKey: t.PartitionKey()}
	for _, c := range t.FileColumns() {
		tm.Columns = append(tm.Columns, ColumnManifest{Name: c.Name, Type: c.Type.String(), Nullable: c.Nullable})
	}
	return tm
}

func totals(a *night.Accounting) RowTotals {
	return RowTotals{Read: a.Read, Used: a.Used, Quarantined: a.TotalQuarantined(), Excluded: a.TotalExcluded()}
}

// Version is the module version and VCS revision the binary was built from.
func Version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	v := bi.Main.Version
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			v += "+" + s.Value[:12]
		}
		if s.Key == "vcs.modified" && s.Value == "true" {
			v += "-dirty"
		}
	}
	return v
}
