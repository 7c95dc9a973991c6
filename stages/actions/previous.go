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
// first and last are the customer's cells' first and last days: the grid
// cuts at runDay, so the cells up to the night before end before it, and a
// cell starting on runDay holds runDay alone (every later day is a cell of
// its own).
func previousNight(cfg actionsconfig.Actions, runDay int32, first, last []int32) (string, bool) {
	k := history.UptoDay(first, runDay-1)
	if k == 0 {
		return "", false
	}
	prev, _ := winbackAt(cfg, runDay-1, last[k-1])
	wonBack := k < len(first) && first[k] == runDay && runDay-last[k-1] >= int32(cfg.WonBackDays)
	return prev, wonBack
}
