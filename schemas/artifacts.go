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
