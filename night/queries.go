package night

import "slices"

// QueryStat is what BigQuery reported of one query job a run issued, for
// the manifest: what the night cost in the warehouse and how much came back.
type QueryStat struct {
	// Name is the query's name in `retain plan`.
	Name  string `json:"name"`
	JobID string `json:"job_id"`
	// BytesProcessed is what on-demand pricing bills before rounding;
	// BytesBilled after BigQuery's per-query minimum and rounding (0 on a
	// cache hit).
	BytesProcessed int64 `json:"bytes_processed"`
	BytesBilled    int64 `json:"bytes_billed"`
	// SlotMillis is the slot time the query consumed, what capacity
	// pricing bills.
	SlotMillis int64 `json:"slot_ms"`
	CacheHit   bool  `json:"cache_hit,omitempty"`
	// Rows are the result rows that crossed the network.
	Rows int64 `json:"rows_returned"`
	// StatsError says why the byte and slot numbers are missing, when the
	// job's statistics could not be fetched.
	StatsError string `json:"stats_error,omitempty"`
}

// NoteQuery records a query job the run issued, in the order issued.
func (rc *Context) NoteQuery(s QueryStat) {
	rc.queriesMu.Lock()
	defer rc.queriesMu.Unlock()
	rc.queries = append(rc.queries, s)
}

// Queries are the query jobs the run issued so far.
func (rc *Context) Queries() []QueryStat {
	rc.queriesMu.Lock()
	defer rc.queriesMu.Unlock()
	return slices.Clone(rc.queries)
}
