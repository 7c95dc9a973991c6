package validate_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/rs/zerolog"

	"retain/config"
	"retain/night"
	"retain/stages/internal/rules"
	"retain/stages/internal/stagetest"
	"retain/stages/validate"
	"retain/stages/validate/validateconfig"
)

// TestFileRates: the rates handed to pushdown are the ones the stage
// converts with: codes trimmed and upper-cased, a timestamp's local day in
// the job's zone (23:30 UTC is the next day in Berlin), the same rate
// twice once, sorted by currency and day; and two rates for one day fail
// with the stage's error.
func TestFileRates(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	read := func(rates string) ([]rules.Rate, error) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "fx_rates.csv"), []byte("date,currency,rate_to_reporting\n"+rates), 0o644); err != nil {
			t.Fatal(err)
		}
		const job = "name: t\ntimezone: Europe/Berlin\ninput: {orders: {path: orders.csv}, fx_rates: {path: fx_rates.csv}, reporting_currency: EUR}\n"
		j, err := config.Decode([]byte(job), dir, []config.Section{night.InputSection, validateconfig.Section})
		if err != nil {
			t.Fatal(err)
		}
		rc, err := night.New(j, "t", stagetest.DefaultRunDate, mem, zerolog.Nop())
		if err != nil {
			t.Fatal(err)
		}
		return validate.FileRates(csvSideInput)(context.Background(), rc)
	}
	day := func(s string) int32 {
		d, err := time.Parse(time.DateOnly, s)
		if err != nil {
			t.Fatal(err)
		}
		return int32(d.Unix() / 86400)
	}
	got, err := read("2025-12-01,usd ,0.9\n2025-12-01,USD,0.9\n2025-11-30T23:30:00Z,GBP,1.15\n2026-03-01,USD,0.95\n2025-12-01,JPY,0.0061\n")
	if err != nil {
		t.Fatal(err)
	}
	want := []rules.Rate{{Currency: "GBP", Day: day("2025-12-01"), Rate: 1.15}, {Currency: "JPY", Day: day("2025-12-01"), Rate: 0.0061},
		{Currency: "USD", Day: day("2025-12-01"), Rate: 0.9}, {Currency: "USD", Day: day("2026-03-01"), Rate: 0.95}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("rates %+v, want %+v", got, want)
	}
	_, err = read("2025-12-01,USD,0.9\n2025-12-01,USD,0.91\n")
	const msg = "input.fx_rates: conflicting FX rates: USD has two rates for 2025-12-01 (0.9 and 0.91); keep one"
	if !errors.Is(err, validate.ErrConflictingRates) || err.Error() != msg {
		t.Errorf("err = %v, want %s", err, msg)
	}
}
