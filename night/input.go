package night

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"retain/config"
	"retain/schemas"
	"retain/warehouse/bqident"
)

// Input lists the source tables. Only orders is required. Several stages
// and the run itself read it (the readers, validation's conversion,
// affinity, lineage, --input), so it is declared here, where they all meet.
type Input struct {
	Orders     Source  `yaml:"orders" doc:"The orders table: one row per order."`
	OrderItems *Source `yaml:"order_items" doc:"The order lines (order_id, sku), for product_affinity; without it the table is empty."`
	FXRates    *Source `yaml:"fx_rates" doc:"Daily exchange rates (see retain schema --table fx_rates) that convert order amounts into reporting_currency."`
	// ReportingCurrency is checked in code: it is required with fx_rates.
	ReportingCurrency string `yaml:"reporting_currency" doc:"The ISO 4217 code (EUR, JPY, …) of the currency every money column is in; orders without a currency are taken to be in it. Without fx_rates, orders in any other currency are quarantined as unknown_currency; with neither set, orders in more than one currency fail the run rather than be summed unconverted."`
}

// Source is one input table: local files by default, or a BigQuery table.
type Source struct {
	Path            string            `yaml:"path" doc:"One file, a folder (every file in it with the format's extension) or a glob; relative paths resolve against the job file."`
	BigQuery        *BigQuerySource   `yaml:"bigquery" doc:"Reads the table from BigQuery instead of files."`
	Format          string            `yaml:"format" doc:"File format; empty means by file extension." enum:"|parquet|csv"`
	Columns         map[string]string `yaml:"columns" doc:"Maps canonical column names (see retain schema) to the shop's own; unmapped canonical names are looked up as they are."`
	TimestampFormat string            `yaml:"timestamp_format" doc:"A Go time layout for text timestamps that the built-in layouts (RFC 3339, 'YYYY-MM-DD HH:MM:SS', 'YYYY-MM-DD', 'YYYYMMDD') do not cover."`
	CSV             CSVOptions        `yaml:"csv" doc:"Options of the CSV reader."`
}

// Defaults gives an optional source, once the file names it, the same CSV
// options as orders.
func (Source) Defaults() Source {
	return Source{CSV: CSVOptions{NullValues: []string{"", "NULL"}, MaxMalformedShare: 0.01}}
}

// CSVOptions configures the CSV reader.
type CSVOptions struct {
	Delimiter         string   `yaml:"delimiter" doc:"The field separator, one character; empty means a comma."`
	NullValues        []string `yaml:"null_values" doc:"Cell texts read as null."`
	MaxMalformedShare float64  `yaml:"max_malformed_share" doc:"Share of a file's records that may be malformed (quarantined as malformed_row) before the file fails the run. FX rates fail on any malformed record." range:"[0,1]"`
}

// BigQuerySource reads an input from a BigQuery table or view. Only the
// mapped columns are read, and of orders only the rows up to the end of the
// run date.
type BigQuerySource struct {
	Project         string `yaml:"project" doc:"The project that runs (and pays for) the jobs and holds the table."`
	Location        string `yaml:"location" doc:"The dataset's location, e.g. EU or europe-west3; empty lets BigQuery infer it."`
	CredentialsFile string `yaml:"credentials_file" doc:"A service-account key file, relative to the job file; empty means Application Default Credentials. Its contents are never logged."`
	Dataset         string `yaml:"dataset" doc:"The dataset of the table."`
	Table           string `yaml:"table" doc:"The table, or a view over it."`
	Pushdown        bool   `yaml:"pushdown" doc:"Orders only: validates the orders and folds them into per-customer daily activity in BigQuery, so only those rows (and rejected rows) come back. Needs typed columns (order_ts a TIMESTAMP, DATETIME or DATE, amount a number) and no timestamp_format; order_items only from a BigQuery table, whose products the queries pair in SQL (not with margin.item_costs); fx_rates from a BigQuery table (date a DATE, DATETIME or TIMESTAMP, rate a number), which the queries join to convert in SQL, or from files, read as validation reads them and sent with the queries as a parameter (at most 40,000 rates from validate.min_order_ts to the run date)."`
}

// Ref is the source table.
func (s *BigQuerySource) Ref() bqident.TableRef {
	return bqident.TableRef{Project: s.Project, Dataset: s.Dataset, Table: s.Table}
}

// InputSection is the job file's input section.
var InputSection = config.NewSpec("input", "The tables a night reads: orders, and optionally order items and FX rates.",
	func() Input { return Input{Orders: Source{}.Defaults()} }, checkInput)

// InputOf is the job's input section.
func InputOf(f *config.File) *Input { return InputSection.Of(f) }

func checkInput(in *Input, env config.Env) error {
	if err := in.Orders.check("input.orders", schemas.Orders, env); err != nil {
		return err
	}
	// Pushdown pairs the products of the orders it folds in SQL, so it
	// needs the items as a table those queries can join. FX rates may be
	// files: the queries carry them as a parameter.
	if bq := in.Orders.BigQuery; bq != nil && bq.Pushdown && ((in.OrderItems != nil && in.OrderItems.BigQuery == nil) || in.Orders.TimestampFormat != "") {
		return fmt.Errorf("%w: input.orders.bigquery.pushdown works without timestamp_format, and with order_items only from a BigQuery table", config.ErrInvalid)
	}
	// Pushdown belongs to the orders read; a side input is read whole.
	for _, s := range []struct {
		where string
		src   *Source
	}{{"input.order_items", in.OrderItems}, {"input.fx_rates", in.FXRates}} {
		if s.src != nil && s.src.BigQuery != nil && s.src.BigQuery.Pushdown {
			return fmt.Errorf("%w: %s.bigquery.pushdown: only input.orders can be pushed down", config.ErrInvalid, s.where)
		}
	}
	if in.FXRates != nil {
		if err := in.FXRates.check("input.fx_rates", schemas.FXRates, env); err != nil {
			return err
		}
		if len(in.ReportingCurrency) != 3 {
			return fmt.Errorf("%w: input.reporting_currency must be a 3-letter currency code when fx_rates is set", config.ErrInvalid)
		}
	}
	if c := in.ReportingCurrency; c != "" && len(c) != 3 {
		return fmt.Errorf("%w: input.reporting_currency %q: want a 3-letter currency code", config.ErrInvalid, c)
	}
	// An unknown code would publish a null currency column and guess the
	// decimals, which a reader cannot tell from a shop without one.
	if c := in.ReportingCurrency; c != "" && !CurrencyOf(c).Known() {
		return fmt.Errorf("%w: input.reporting_currency %q is not an ISO 4217 currency code", config.ErrInvalid, c)
	}
	if in.OrderItems != nil {
		if err := in.OrderItems.check("input.order_items", schemas.OrderItems, env); err != nil {
			return err
		}
	}
	return nil
}

// check validates a source and makes its paths absolute, so every reader
// of the section sees the same file names whatever its working folder.
func (s *Source) check(where string, t schemas.Table, env config.Env) error {
	if s.BigQuery != nil {
		if s.Path != "" || s.Format != "" {
			return fmt.Errorf("%w: %s: path/format and bigquery are exclusive", config.ErrInvalid, where)
		}
		if err := s.BigQuery.check(where + ".bigquery"); err != nil {
			return err
		}
		for _, c := range t.Columns {
			if err := bqident.Column(s.SourceColumn(c.Name)); err != nil {
				return fmt.Errorf("%w: %s.columns.%s: %w", config.ErrInvalid, where, c.Name, err)
			}
		}
		s.BigQuery.CredentialsFile = env.Resolve(s.BigQuery.CredentialsFile)
	} else if s.Path == "" {
		return fmt.Errorf("%w: %s.path is required", config.ErrInvalid, where)
	}
	s.Path = env.Resolve(s.Path)
	known := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		known[i] = c.Name
	}
	for _, k := range slices.Sorted(maps.Keys(s.Columns)) {
		if !slices.Contains(known, k) {
			return fmt.Errorf("%w: %s.columns: %q is not a column of %s (want one of %s)", config.ErrInvalid, where, k, t.Name, strings.Join(known, ", "))
		}
	}
	if d := s.CSV.Delimiter; d != "" && len([]rune(d)) != 1 {
		return fmt.Errorf("%w: %s.csv.delimiter %q must be one character", config.ErrInvalid, where, d)
	}
	return nil
}

func (b *BigQuerySource) check(where string) error {
	if err := bqident.Project(b.Project); err != nil {
		return fmt.Errorf("%w: %s.project: %w", config.ErrInvalid, where, err)
	}
	if err := bqident.Location(b.Location); err != nil {
		return fmt.Errorf("%w: %s.location: %w", config.ErrInvalid, where, err)
	}
	if err := b.Ref().Check(); err != nil {
		return fmt.Errorf("%w: %s: %w", config.ErrInvalid, where, err)
	}
	return nil
}

// SourceColumn returns the shop's column name for a canonical column.
func (s *Source) SourceColumn(canonical string) string {
	if n, ok := s.Columns[canonical]; ok {
		return n
	}
	return canonical
}

// OverrideInput points the inputs at a folder (also when the job reads
// them from BigQuery): orders at DIR/orders (a folder, or orders.parquet /
// orders.csv), order items and FX rates likewise.
func OverrideInput(f *config.File, dir string) error {
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	in := *InputOf(f)
	in.Orders.Path = tablePath(dir, schemas.Orders.Name)
	in.Orders.BigQuery = nil
	if in.OrderItems != nil {
		items := *in.OrderItems
		items.Path = tablePath(dir, schemas.OrderItems.Name)
		items.BigQuery = nil
		in.OrderItems = &items
	}
	if in.FXRates != nil {
		fx := *in.FXRates
		fx.Path = tablePath(dir, schemas.FXRates.Name)
		fx.BigQuery = nil
		in.FXRates = &fx
	}
	return InputSection.Set(f, in)
}

func tablePath(dir, table string) string {
	p := filepath.Join(dir, table)
	if _, err := os.Stat(p); err == nil {
		return p
	}
	return p + ".*"
}

// Output says where and how tables are written.
type Output struct {
	Path         string `yaml:"path" doc:"The root folder of the output tables, relative to the job file; retain run --output overrides it."`
	RowGroupRows int64  `yaml:"row_group_rows" doc:"Rows per Parquet row group at most, which bounds the writer's buffer per table while keeping row groups large." range:"[1024,67108864]"`
	// KeepDays and KeepMonthEnds default to 0 so that a job file written
	// before pruning existed keeps every night, as it always did.
	KeepDays      int `yaml:"keep_days" doc:"Snapshot dates kept: after a commit, nights dated before the newest committed date − keep_days + 1 are removed (by snapshot date, not file time; the date just written always stays). 0 keeps every night. A BigQuery sink sets the matching partition expiration (see README)." range:"[0,36500]"`
	KeepMonthEnds int `yaml:"keep_month_ends" doc:"Also keeps the month-end snapshots of this many months before the newest committed date's month, beyond keep_days. Needs keep_days." range:"[0,1200]"`
}

// OutputSection is the job file's output section.
var OutputSection = config.NewSpec("output", "Where the night's tables are written.",
	func() Output { return Output{RowGroupRows: 256 * 1024} },
	checkOutput)

func checkOutput(o *Output, env config.Env) error {
	o.Path = env.Resolve(o.Path)
	if o.KeepMonthEnds > 0 && o.KeepDays == 0 {
		return fmt.Errorf("%w: output.keep_month_ends needs output.keep_days (0 keeps every night)", config.ErrInvalid)
	}
	return nil
}
