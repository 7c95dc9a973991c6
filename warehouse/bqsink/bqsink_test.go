package bqsink

import (
	"context"
	"regexp"
	"slices"
	"testing"
	"time"

	"cloud.google.com/go/bigquery"
	"google.golang.org/api/option"

	"retain/schemas"
	"retain/warehouse/bqfake"
)

func TestJobID(t *testing.T) {
	a := JobID("20261125T010203Z-abc123", "customer_segments", "d1")
	if a != JobID("20261125T010203Z-abc123", "customer_segments", "d1") {
		t.Fatal("job id is not deterministic")
	}
	for _, other := range []string{
		JobID("20261125T010203Z-abc124", "customer_segments", "d1"),
		JobID("20261125T010203Z-abc123", "customer_summary", "d1"),
		JobID("20261125T010203Z-abc123", "customer_segments", "d2"),
	} {
		if other == a {
			t.Fatalf("job ids collide: %s", a)
		}
	}
	// A run id from --run-id may hold anything; job ids may not.
	valid := regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
	for _, run := range []string{"manual rerun/2026-11-25 ünïcode", string(make([]byte, 5000))} {
		if id := JobID(run, "quarantine", "d"); !valid.MatchString(id) || len(id) > 1024 {
			t.Errorf("job id %q is not a valid BigQuery job id", id)
		}
	}
}

func TestTableMetadata(t *testing.T) {
	for _, tbl := range schemas.Outputs() {
		md, err := TableMetadata(tbl, 0)
		if err != nil {
			t.Fatal(err)
		}
		if md.TimePartitioning.Field != PartitionColumn || md.Schema[0].Name != PartitionColumn || !md.Schema[0].Required {
			t.Errorf("%s: not partitioned on a required %s", tbl.Name, PartitionColumn)
		}
		cols := tbl.PublishedColumns()
		if len(md.Schema) != len(cols) || tbl.HasMoney() != (md.Schema[len(md.Schema)-1].Name == schemas.CurrencyColumn.Name) {
			t.Errorf("%s: %d columns, want %d, currency last when it has money", tbl.Name, len(md.Schema), len(cols))
			continue
		}
		for i, f := range md.Schema {
			if f.Description != tbl.Describe(cols[i]) || f.Description == "" {
				t.Errorf("%s.%s: description %q", tbl.Name, f.Name, f.Description)
			}
		}
		if md.Clustering != nil {
			for _, c := range md.Clustering.Fields {
				if !slices.ContainsFunc(tbl.Columns, func(col schemas.Column) bool { return col.Name == c }) {
					t.Errorf("%s clustered on unknown column %s", tbl.Name, c)
				}
			}
		}
	}
	for name := range Clustering {
		if _, ok := schemas.Lookup(name); !ok {
			t.Errorf("clustering for unknown table %s", name)
		}
	}
}

func TestPartitionExpiration(t *testing.T) {
	day := 24 * time.Hour
	for _, c := range []struct {
		days, monthEnds int
		want            time.Duration
	}{
		{0, 0, 0},
		{0, 6, 0},
		{7, 0, 8 * day},
		{90, 1, 91 * day},
		{7, 3, 94 * day},
	} {
		if got := PartitionExpiration(c.days, c.monthEnds); got != c.want {
			t.Errorf("PartitionExpiration(%d, %d) = %v, want %v", c.days, c.monthEnds, got, c.want)
		}
	}
}

// TestEnsureTableSetsExpiration: a new table gets the expiration, a later
// keep_days updates it, and keep_days 0 leaves it as it was.
func TestEnsureTableSetsExpiration(t *testing.T) {
	fake := bqfake.New()
	srv := fake.Start()
	t.Cleanup(srv.Close)
	ctx := context.Background()
	c, err := bigquery.NewClient(ctx, "shop", option.WithEndpoint(bqfake.Endpoint(srv.URL)), option.WithoutAuthentication())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	bt := c.Dataset("retain").Table("customer_summary")
	expiration := func() time.Duration {
		fake.Lock()
		defer fake.Unlock()
		return time.Duration(fake.Tables["shop.retain.customer_summary"].TimePartitioning.ExpirationMs) * time.Millisecond
	}
	for _, step := range []struct {
		set, want time.Duration
	}{
		{8 * 24 * time.Hour, 8 * 24 * time.Hour},
		{31 * 24 * time.Hour, 31 * 24 * time.Hour},
		{0, 31 * 24 * time.Hour},
	} {
		if err := EnsureTable(ctx, bt, schemas.CustomerSummary, step.set); err != nil {
			t.Fatal(err)
		}
		if got := expiration(); got != step.want {
			t.Errorf("after EnsureTable with %v: expiration %v, want %v", step.set, got, step.want)
		}
	}
}

func TestLatestViewSQL(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		table   string
		want    string
		wantErr bool
	}{
		{"prefixed", Config{Project: "my-shop", Dataset: "marts", TablePrefix: "r_"}, "customer_summary",
			"CREATE OR REPLACE VIEW `my-shop.marts.r_customer_summary_latest` OPTIONS (description = \"The newest snapshot_date of customer_summary, written by retain.\") AS\n" +
				"SELECT * FROM `my-shop.marts.r_customer_summary`\nWHERE snapshot_date = (SELECT MAX(snapshot_date) FROM `my-shop.marts.r_customer_summary`)", false},
		{"no prefix", Config{Project: "my-shop", Dataset: "marts"}, "quarantine",
			"CREATE OR REPLACE VIEW `my-shop.marts.quarantine_latest` OPTIONS (description = \"The newest snapshot_date of quarantine, written by retain.\") AS\n" +
				"SELECT * FROM `my-shop.marts.quarantine`\nWHERE snapshot_date = (SELECT MAX(snapshot_date) FROM `my-shop.marts.quarantine`)", false},
		{"unsafe name", Config{Project: "my-shop", Dataset: "marts"}, "x` ; DROP", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.cfg.LatestViewSQL(tt.table)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("got %q, %v; want %q (error %v)", got, err, tt.want, tt.wantErr)
			}
		})
	}
}
