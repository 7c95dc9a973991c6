// Package cohorts is the stage that follows each acquisition cohort through
// the periods after its first order.
package cohorts

import (
	"context"
	"slices"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"

	"retain/calendar"
	"retain/engine"
	"retain/night"
	"retain/schemas"
	"retain/stages/internal/history"
	"retain/stages/internal/localday"
)

// Register adds the cohorts stage.
func Register(r *night.Registry) error {
	return r.Register(night.Spec{
		Name:    "cohorts",
		Doc:     "cohort_retention: per first-order cohort and period offset, active customers, retention, orders and revenue.",
		Inputs:  []string{schemas.CustomerPeriods.Name},
		Outputs: []string{schemas.CohortRetention.Name},
		// Folding its input needs no emitter, so the runner may run its
		// Process calls beside the stages that feed it.
		Background: true,
		New: func(_ context.Context, rc *night.Context) (engine.Stage, error) {
			unit, err := calendar.ParseUnit(Section.Of(rc.Job).Period)
			if err != nil {
				return nil, err
			}
			s := &stage{rc: rc, unit: unit, cohorts: map[int32]*cohort{}}
			s.walk.Visit = s.visit
			return s, nil
		},
	}, Section)
}

type cell struct {
	active, orders int64
	revenue        float64
}

// cohort holds one cohort's cells by period offset; a shop has a few dozen
// cohorts, so this stays small whatever the number of customers.
type cohort struct {
	size  int64
	cells []cell
}

type stage struct {
	engine.BaseStage
	rc      *night.Context
	unit    calendar.Unit
	cohorts map[int32]*cohort
	walk    history.PeriodWalker
}

func (s *stage) Process(_ context.Context, _ string, rec arrow.Record, _ engine.Emitter) error {
	return s.walk.Add(rec)
}

func (s *stage) visit(c *history.Cells) error {
	start := s.unit.Start(c.First[0])
	co := s.cohorts[start]
	if co == nil {
		co = &cohort{}
		s.cohorts[start] = co
	}
	co.size++
	base := s.unit.Index(start)
	last := -1
	// The grid cuts at cohorts.period too, so a cell's days share one
	// offset: its first day's.
	for i, d := range c.First {
		off := s.unit.Index(d) - base
		for len(co.cells) <= off {
			co.cells = append(co.cells, cell{})
		}
		if off != last {
			co.cells[off].active++
			last = off
		}
		co.cells[off].orders += c.Orders[i]
		co.cells[off].revenue += c.Revenue[i]
	}
	return nil
}

func (s *stage) Finish(ctx context.Context, out engine.Emitter) error {
	if err := s.walk.Flush(); err != nil {
		return err
	}
	runDay := localday.RunDate(s.rc)
	starts := make([]int32, 0, len(s.cohorts))
	for k := range s.cohorts {
		starts = append(starts, k)
	}
	slices.Sort(starts)
	b := array.NewRecordBuilder(s.rc.Mem, schemas.CohortRetention.Schema())
	defer b.Release()
	for _, start := range starts {
		co := s.cohorts[start]
		last := s.unit.Index(runDay) - s.unit.Index(start)
		var cumulative float64
		period := start
		for off := 0; off <= last; off++ {
			var c cell
			if off < len(co.cells) {
				c = co.cells[off]
			}
			cumulative += c.revenue
			b.Field(0).(*array.Date32Builder).Append(s.rc.SnapshotDate)
			b.Field(1).(*array.Date32Builder).Append(arrow.Date32(start))
			b.Field(2).(*array.Int64Builder).Append(int64(off))
			b.Field(3).(*array.Date32Builder).Append(arrow.Date32(period))
			b.Field(4).(*array.Int64Builder).Append(co.size)
			b.Field(5).(*array.Int64Builder).Append(c.active)
			b.Field(6).(*array.Float64Builder).Append(float64(c.active) / float64(co.size))
			b.Field(7).(*array.Int64Builder).Append(c.orders)
			b.Field(8).(*array.Float64Builder).Append(c.revenue)
			b.Field(9).(*array.Float64Builder).Append(cumulative / float64(co.size))
			period = s.unit.Next(period)
		}
	}
	rec := b.NewRecord()
	defer rec.Release()
	return out.Emit(ctx, schemas.CohortRetention.Name, rec)
}
