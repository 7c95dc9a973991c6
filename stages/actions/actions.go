// Package actions is the stage that turns each customer's purchase days into
// the columns a marketing tool triggers on: win-back stage and the day it was
// entered, declining frequency or order value, loyalty tier, milestones,
// anniversaries and new customers. Everything is a function of the run date,
// so "entered today" lists come out once and the same on a rerun.
package actions

import (
	"context"
	"time"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"

	"retain/calendar"
	"retain/engine"
	"retain/night"
	"retain/schemas"
	"retain/stages/actions/actionsconfig"
	"retain/stages/internal/history"
	"retain/stages/internal/localday"
	"retain/stages/segments/segmentsconfig"
)

// BatchRows is the number of customers per emitted batch.
const BatchRows = 64 * 1024

// Register adds the actions stage.
func Register(r *night.Registry) error {
	return r.Register(night.Spec{
		Name:    "actions",
		Doc:     "Win-back stage, declining behaviour, loyalty tier, milestones, anniversaries and new customers per customer.",
		Inputs:  []string{schemas.CustomerPeriods.Name},
		Outputs: []string{schemas.CustomerActions.Name},
		New: func(_ context.Context, rc *night.Context) (engine.Stage, error) {
			s := &stage{rc: rc, cfg: *actionsconfig.Of(rc.Job), runDay: localday.RunDate(rc), changeTracking: segmentsconfig.Of(rc.Job).ChangeTracking,
				b: array.NewRecordBuilder(rc.Mem, schemas.CustomerActions.Schema())}
			s.walk.Visit = s.visit
			return s, nil
		},
	}, actionsconfig.Section, segmentsconfig.Section)
}

type stage struct {
	engine.BaseStage
	rc     *night.Context
	cfg    actionsconfig.Actions
	runDay int32
	// changeTracking is segments.change_tracking: without it
	// previous_winback_stage is null.
	changeTracking bool
	walk           history.PeriodWalker
	b              *array.RecordBuilder
	ctx            context.Context
	out            engine.Emitter
	rows           int
}

func (s *stage) Close(context.Context) error {
	s.b.Release()
	return nil
}

func (s *stage) Process(ctx context.Context, _ string, rec arrow.Record, out engine.Emitter) error {
	// Rows are emitted as customers complete, so memory stays at one batch.
	s.ctx, s.out = ctx, out
	return s.walk.Add(rec)
}

// Customer is what the rules below read of one customer: its history in
// cells of the night's grid (customer_periods), each from First to Last
// with the orders and revenue of its days. The grid cuts at the run date,
// the day after the night before, the decline window's start and the
// trailing year's, so every sum below is a sum of whole cells; a history
// of one cell per purchase day is a grid too.
type Customer struct {
	First, Last []int32
	Orders      []int64
	Revenue     []float64
}

// Row is one customer's action columns.
type Row struct {
	WinbackStage                       string
	WinbackEnteredOn                   int32
	FrequencyDeclining, ValueDeclining bool
	Tier, NextTier                     string
	SpendToNext                        *float64
	OrdersToNext                       *int64
	TierUpgradedToday                  bool
	Milestone                          *int64
	Anniversary, NewCustomer           bool
	// PreviousWinbackStage is the stage as of the night before runDay; ""
	// when the customer's first order is on runDay.
	PreviousWinbackStage string
	WonBackToday         bool
}

// Evaluate applies the job's action rules to one customer on runDay.
func Evaluate(cfg actionsconfig.Actions, runDay int32, c Customer) Row {
	var r Row
	first, last := c.First[0], c.Last[len(c.Last)-1]
	r.WinbackStage, r.WinbackEnteredOn = winbackAt(cfg, runDay, last)
	r.PreviousWinbackStage, r.WonBackToday = previousNight(cfg, runDay, c.First, c.Last)

	cutoff := runDay - int32(cfg.DeclineWindowDays)
	var earlyOrders, recentOrders, todayOrders int64
	var earlyValue, recentValue, total, trailing, todayValue float64
	// A cell lies wholly on one side of each of these days, so its first
	// day places it.
	for i, d := range c.First {
		total += c.Revenue[i]
		if d <= cutoff {
			earlyOrders += c.Orders[i]
			earlyValue += c.Revenue[i]
		} else {
			recentOrders += c.Orders[i]
			recentValue += c.Revenue[i]
		}
		if d > runDay-365 {
			trailing += c.Revenue[i]
		}
		if d == runDay {
			todayOrders += c.Orders[i]
			todayValue += c.Revenue[i]
		}
	}
	if first <= cutoff && earlyOrders >= 2 {
		earlyRate := float64(earlyOrders) / float64(cutoff-first+1)
		recentRate := float64(recentOrders) / float64(cfg.DeclineWindowDays)
		r.FrequencyDeclining = recentRate < cfg.FrequencyDeclineRatio*earlyRate
	}
	if earlyOrders > 0 && recentOrders > 0 {
		r.ValueDeclining = recentValue/float64(recentOrders) < cfg.ValueDeclineRatio*earlyValue/float64(earlyOrders)
	}

	orders := total0(c.Orders)
	var value, before float64
	switch cfg.Tiers.Basis {
	case "orders":
		value, before = float64(orders), float64(orders-todayOrders)
	case "trailing_12m_spend":
		value, before = trailing, trailing-todayValue
	default:
		value, before = total, total-todayValue
	}
	tier := tierIndex(cfg.Tiers.Levels, value)
	if tier >= 0 {
		r.Tier = cfg.Tiers.Levels[tier].Name
	}
	if tier+1 < len(cfg.Tiers.Levels) {
		next := cfg.Tiers.Levels[tier+1]
		r.NextTier = next.Name
		if cfg.Tiers.Basis == "orders" {
			n := int64(next.Min - value)
			r.OrdersToNext = &n
		} else {
			v := next.Min - value
			r.SpendToNext = &v
		}
	}
	r.TierUpgradedToday = todayOrders > 0 && tier > tierIndex(cfg.Tiers.Levels, before)

	for _, m := range cfg.Milestones {
		if orders-todayOrders < int64(m) && int64(m) <= orders {
			v := int64(m)
			r.Milestone = &v
		}
	}
	r.Anniversary = isAnniversary(calendar.Date(first), calendar.Date(runDay))
	r.NewCustomer = runDay-first < int32(cfg.NewCustomerDays)
	return r
}

func total0(v []int64) int64 {
	var n int64
	for _, x := range v {
		n += x
	}
	return n
}

// tierIndex is the highest level reached, −1 below the first.
func tierIndex(levels []actionsconfig.Tier, value float64) int {
	idx := -1
	for i, l := range levels {
		if value >= l.Min {
			idx = i
		}
	}
	return idx
}

// isAnniversary: same month and day in a later year; a 29 February first
// order has its anniversary on 28 February when the year has no 29th.
func isAnniversary(first, day time.Time) bool {
	if day.Year() <= first.Year() {
		return false
	}
	if first.Month() == time.February && first.Day() == 29 && !leap(day.Year()) {
		return day.Month() == time.February && day.Day() == 28
	}
	return day.Month() == first.Month() && day.Day() == first.Day()
}

func leap(y int) bool { return y%4 == 0 && (y%100 != 0 || y%400 == 0) }

func (s *stage) visit(c *history.Cells) error {
	r := Evaluate(s.cfg, s.runDay, Customer{First: c.First, Last: c.Last, Orders: c.Orders, Revenue: c.Revenue})
	if !s.changeTracking {
		r.PreviousWinbackStage = ""
	}
	b := s.b
	str := func(k int, v string) {
		if v == "" {
			b.Field(k).AppendNull()
		} else {
			b.Field(k).(*array.StringBuilder).Append(v)
		}
	}
	str(0, c.ID)

	str(1, r.WinbackStage)
	b.Field(2).(*array.Date32Builder).Append(arrow.Date32(r.WinbackEnteredOn))
	b.Field(3).(*array.BooleanBuilder).Append(r.FrequencyDeclining)
	b.Field(4).(*array.BooleanBuilder).Append(r.ValueDeclining)
	str(5, r.Tier)
	str(6, r.NextTier)
	if r.SpendToNext != nil {
		b.Field(7).(*array.Float64Builder).Append(*r.SpendToNext)
	} else {
		b.Field(7).AppendNull()
	}
	if r.OrdersToNext != nil {
		b.Field(8).(*array.Int64Builder).Append(*r.OrdersToNext)
	} else {
		b.Field(8).AppendNull()
	}
	b.Field(9).(*array.BooleanBuilder).Append(r.TierUpgradedToday)
	if r.Milestone != nil {
		b.Field(10).(*array.Int64Builder).Append(*r.Milestone)
	} else {
		b.Field(10).AppendNull()
	}
	b.Field(11).(*array.BooleanBuilder).Append(r.Anniversary)
	b.Field(12).(*array.BooleanBuilder).Append(r.NewCustomer)
	str(13, r.PreviousWinbackStage)
	b.Field(14).(*array.BooleanBuilder).Append(r.WonBackToday)
	s.rows++
	if s.rows >= BatchRows {
		return s.flush()
	}
	return nil
}

func (s *stage) flush() error {
	s.rows = 0
	rec := s.b.NewRecord()
	defer rec.Release()
	if rec.NumRows() == 0 {
		return nil
	}
	return s.out.Emit(s.ctx, schemas.CustomerActions.Name, rec)
}

func (s *stage) Finish(ctx context.Context, out engine.Emitter) error {
	s.ctx, s.out = ctx, out
	if err := s.walk.Flush(); err != nil {
		return err
	}
	return s.flush()
}
