// Package localday turns instants into local calendar days (days since
// 1970-01-01 in the job's zone), the unit of activity_date. Every stage that
// compares a purchase day with the run date must count days by one rule, or
// a customer's tenure and recency would disagree between tables.
package localday

import (
	"time"

	"retain/night"
)

const microsPerDay = 86400 * 1e6

// RunDate is the run date as a day number, so "days before the run date"
// means the same in every stage.
func RunDate(rc *night.Context) int32 {
	return Of(rc.RunDate.UnixMicro(), rc.Job.Location())
}

// Of is the day number of an instant (microseconds since the epoch) in loc;
// purchase periods are local days, so two orders on one local evening are
// one period even when they straddle midnight UTC.
func Of(us int64, loc *time.Location) int32 {
	if loc == time.UTC {
		d := us / microsPerDay
		if us%microsPerDay < 0 {
			d--
		}
		return int32(d)
	}
	y, m, d := time.UnixMicro(us).In(loc).Date()
	return int32(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400)
}
