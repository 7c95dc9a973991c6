package pipeline

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"retain/night"
)

// BackfillOptions configure a run of one job over a range of dates.
type BackfillOptions struct {
	Options
	From, To string
	// Parallel is how many dates run at once; default 1 (in date order).
	Parallel int
	// Force reruns dates that already have a _SUCCESS.
	Force bool
}

// DateResult is the outcome of one date of a backfill.
type DateResult struct {
	RunDate string `json:"run_date"`
	// Status is ok, skipped (already done), failed or not_run (after a failure).
	Status string `json:"status"`
	RunID  string `json:"run_id,omitempty"`
	Error  string `json:"error,omitempty"`
}

// BackfillSummary is the outcome of a backfill, printed on stdout.
type BackfillSummary struct {
	Status string       `json:"status"`
	From   string       `json:"from"`
	To     string       `json:"to"`
	OK     int          `json:"ok"`
	Skip   int          `json:"skipped"`
	Failed int          `json:"failed"`
	NotRun int          `json:"not_run"`
	Dates  []DateResult `json:"dates"`
}

// Backfill runs the job for every date from From to To. It skips dates that
// already committed unless Force, and after the first failure starts no new
// date, so a broken input does not fail a year of runs one by one.
func Backfill(ctx context.Context, o BackfillOptions) (*BackfillSummary, error) {
	from, err := time.Parse(time.DateOnly, o.From)
	if err != nil {
		return nil, fmt.Errorf("--from %q: %w", o.From, err)
	}
	to, err := time.Parse(time.DateOnly, o.To)
	if err != nil {
		return nil, fmt.Errorf("--to %q: %w", o.To, err)
	}
	if to.Before(from) {
		return nil, fmt.Errorf("--to %s is before --from %s", o.To, o.From)
	}
	root := o.OutputDir
	if root == "" {
		root = night.OutputSection.Of(o.Job).Path
	}
	var dates []string
	for d := from; !d.After(to); d = d.AddDate(0, 0, 1) {
		dates = append(dates, d.Format(time.DateOnly))
	}
	sum := &BackfillSummary{From: o.From, To: o.To, Dates: make([]DateResult, len(dates))}
	parallel := max(o.Parallel, 1)

	var mu sync.Mutex
	failed := false
	next := 0
	var wg sync.WaitGroup
	for w := 0; w < parallel; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				if next == len(dates) || failed || ctx.Err() != nil {
					mu.Unlock()
					return
				}
				i := next
				next++
				mu.Unlock()

				date := dates[i]
				res := DateResult{RunDate: date}
				if !o.Force && done(root, date) {
					res.Status = "skipped"
				} else {
					opts := o.Options
					opts.RunDate, opts.RunID = date, ""
					s, err := Run(ctx, opts)
					if err != nil {
						res.Status, res.Error = "failed", err.Error()
						mu.Lock()
						failed = true
						mu.Unlock()
					} else {
						res.Status, res.RunID = "ok", s.RunID
					}
				}
				sum.Dates[i] = res
			}
		}()
	}
	wg.Wait()

	var firstErr error
	for i := range sum.Dates {
		r := &sum.Dates[i]
		switch r.Status {
		case "ok":
			sum.OK++
		case "skipped":
			sum.Skip++
		case "failed":
			sum.Failed++
			if firstErr == nil {
				firstErr = fmt.Errorf("backfill stopped: %s failed: %s", r.RunDate, r.Error)
			}
		default:
			r.RunDate, r.Status = dates[i], "not_run"
			sum.NotRun++
		}
	}
	sum.Status = "ok"
	if firstErr == nil && ctx.Err() != nil {
		firstErr = ctx.Err()
	}
	if firstErr != nil {
		sum.Status = "failed"
	}
	return sum, firstErr
}

// done reports whether date has a committed run in root.
func done(root, date string) bool {
	_, err := os.Stat(filepath.Join(RunDir(root, date), SuccessName))
	return err == nil
}
