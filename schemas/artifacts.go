package schemas

// Artifacts are outputs that are not tables. Each is a folder in the output
// root, partitioned by snapshot_date and committed like a table's
// (<output>/<name>/snapshot_date=<date>/), so its name is declared beside
// the tables' names, which it must not clash with.
const (
	// ReportDir holds report.html.
	ReportDir = "report"
	// AudiencesDir holds one CSV per configured audience list.
	AudiencesDir = "audiences"
)

// ReportFile is the report's one file in ReportDir.
const ReportFile = "report.html"

// AudienceColumns are written in every audience list, in this order: what
// a mail tool needs to address and personalise a message. The values are
// customer_segments' published columns of the same names, money rounded as
// in the table and currency naming it.
var AudienceColumns = []string{
	"customer_id", "country", "channel", "rfm_segment", "loyalty_tier", "winback_stage", "total_revenue",
	"order_count", "last_order_at", "days_since_last_order", "milestone_reached_today", "p_alive", "predicted_clv", "churn_risk",
	CurrencyColumn.Name,
}
