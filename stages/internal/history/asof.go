package history

import "sort"

// Upto is how many of the customer's purchase days fall on or before day d:
// Days[:k], Orders[:k] and Revenue[:k] are the customer as a run for night d
// saw them on the same input, since that run excludes every later row. Every
// stage that reports a previous night reads its state through here, so the
// nights agree across stages.
//
// Amounts posted after d that change a day on or before d (a refund dated
// later than its order) belong to the later night: when such amounts reach
// the activity table, this is where they must be left out for night d.
func (c *Customer) Upto(d int32) int {
	return UptoDay(c.Days, d)
}

// UptoDay is Upto on a bare slice of purchase days in time order.
func UptoDay(days []int32, d int32) int {
	if n := len(days); n == 0 || days[n-1] <= d {
		return n
	}
	return sort.Search(len(days), func(i int) bool { return days[i] > d })
}
