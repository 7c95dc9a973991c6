package history

import "sort"

// Upto is how many of the customer's purchase days fall on or before day d:
// Days[:k], Orders[:k] and Revenue[:k] are the customer as a run for night d
// saw them on the same input, since that run excludes every later row. Every
// stage that reports a previous night reads its state through here, so the
// nights agree across stages.
//
// Amounts posted after d that change a day on or before d (a refund dated
// later than its order) belong to the later night: NetUpto leaves them out.
func (c *Customer) Upto(d int32) int {
	return UptoDay(c.Days, d)
}

// NetUpto appends to dst the net value of each of the first k purchase
// days as the night before the run date saw them, and returns it: revenue
// less the refunds made by then. Refunds dated on the run date took their
// money off on the run date, not on the order's day, so that night does
// not see them. Only the run date, the night before and the same day of
// the previous kpis.period (NetUptoPeriodDay) are known apart; no other
// night is.
func (c *Customer) NetUpto(dst []float64, k int) []float64 {
	for i := range k {
		dst = append(dst, c.Revenue[i]-(c.Refunded[i]-c.RunDateRefunded[i]))
	}
	return dst
}

// NetUptoPeriodDay is NetUpto for the same day of the previous
// kpis.period: the refunds dated after that day are left out. Upto of that
// day gives k.
func (c *Customer) NetUptoPeriodDay(dst []float64, k int) []float64 {
	for i := range k {
		dst = append(dst, c.Revenue[i]-(c.Refunded[i]-c.PeriodDayLaterRefunded[i]))
	}
	return dst
}

// UptoDay is Upto on a bare slice of purchase days in time order.
func UptoDay(days []int32, d int32) int {
	if n := len(days); n == 0 || days[n-1] <= d {
		return n
	}
	return sort.Search(len(days), func(i int) bool { return days[i] > d })
}
