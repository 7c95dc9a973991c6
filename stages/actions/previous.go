package actions

import (
	"retain/schemas"
	"retain/stages/actions/actionsconfig"
	"retain/stages/internal/history"
)

// winbackAt is the win-back stage on night day of a customer whose last
// purchase day by then is last, and the day it was entered.
func winbackAt(cfg actionsconfig.Actions, day, last int32) (string, int32) {
	stage, entered := schemas.WinbackStages[0], last
	for k, d := range cfg.WinbackDays {
		if day-last >= int32(d) {
			stage, entered = schemas.WinbackStages[k+1], last+int32(d)
		}
	}
	return stage, entered
}

// previousNight is the win-back stage the run of the night before runDay
// publishes for the customer ("" when they had not ordered yet), and whether
// an order on runDay ends a silence of at least actions.won_back_days.
func previousNight(cfg actionsconfig.Actions, runDay int32, days []int32) (string, bool) {
	k := history.UptoDay(days, runDay-1)
	if k == 0 {
		return "", false
	}
	prev, _ := winbackAt(cfg, runDay-1, days[k-1])
	wonBack := k < len(days) && days[k] == runDay && runDay-days[k-1] >= int32(cfg.WonBackDays)
	return prev, wonBack
}
