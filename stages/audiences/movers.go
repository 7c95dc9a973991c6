package audiences

import (
	"slices"
)

// movers are the lists of customers whose standing changed since the
// previous night. p_alive_dropped_today is not among them: it needs the
// median predicted_clv of every customer, so it is decided in Finish
// (pAliveDropped).
var movers = map[string]func(row) bool{
	"slipped_from_top_today": func(r row) bool {
		prev := r.str("previous_rfm_segment")
		return prev != "" && prev != r.str("rfm_segment") && slices.Contains(r.cfg.TopSegments, prev)
	},
	"won_back_today": func(r row) bool { return r.boolean("is_won_back_today") },
	// Rows are only collected here; Finish keeps those above the median.
	pAliveDroppedList: func(r row) bool { return pAliveDrop(r) > r.cfg.PAliveDrop },
}

// pAliveDroppedList lists customers whose p_alive fell by more than
// audiences.p_alive_drop since the previous night, among those whose
// predicted_clv is above the median predicted_clv: a valuable customer
// losing ground, rather than a low-value one at the margin.
const pAliveDroppedList = "p_alive_dropped_today"

// pAliveDrop is previous_p_alive − p_alive; 0, no drop, when either or
// predicted_clv is null.
func pAliveDrop(r row) float64 {
	if !r.valid("previous_p_alive") || !r.valid("p_alive") || !r.valid("predicted_clv") {
		return 0
	}
	return r.float("previous_p_alive") - r.float("p_alive")
}

// held is a row of a list decided in Finish.
type held struct {
	values []string
	clv    float64
}

// median of the predicted_clv values seen; false without any.
func median(v []float64) (float64, bool) {
	if len(v) == 0 {
		return 0, false
	}
	slices.Sort(v)
	n := len(v)
	if n%2 == 1 {
		return v[n/2], true
	}
	return (v[n/2-1] + v[n/2]) / 2, true
}
