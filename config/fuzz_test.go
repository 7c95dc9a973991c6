package config_test

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"retain/config"
)

// FuzzDecode: no job file, however broken, panics or hangs the decoder;
// every error wraps ErrInvalid; a file that decodes holds its ranges and
// decodes again the same.
func FuzzDecode(f *testing.F) {
	for _, seed := range []string{
		base,
		base + "clv: {horizon_days: 0}\n",
		base + "clv: {horizon_days: 90.5, holdout_days: 3}\n",
		base + "---\nname: x\n",
		base + "actions: {milestones: [1, 2.5], tiers: {levels: [{name: a, min: 1}]}}\n",
		base + "kpis: {retention_spend: {\"2024-01-01\": 5}, churn_days_by_segment: {a: 1.5}}\n",
		base + "input: {orders: {path: o}, order_items: {path: i, csv: {delimiter: ;}}}\nsink: {project: p}\n",
		base + "validate: {max_amount: &a 2.5}\nclv: {<<: {horizon_days: *a}}\n",
		"&a name: n\ninput: *a\n",
		"&a {name: n, clv: {<<: *a}}\n",
		"name: [n]\n",
		"a: &a [*a]\n",
		"",
		"~",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		done := make(chan struct{})
		var file *config.File
		var err error
		go func() { file, err = config.Decode(raw, "/jobs", sections); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatalf("Decode hangs on %q", raw)
		}
		if err != nil {
			if !errors.Is(err, config.ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			return
		}
		c, a := clvSpec.Of(file), actionsSpec.Of(file)
		if file.Name == "" || file.Location() == nil || c.HorizonDays < 1 || c.MonthlyDiscountRate >= 1 || len(a.WinbackDays) != 4 || inputSpec.Of(file).Orders.Path == "" {
			t.Fatalf("decoded file breaks a rule: %+v %+v %+v", file, c, a)
		}
		again, err := config.Decode(raw, "/jobs", sections)
		if err != nil {
			t.Fatalf("second decode failed: %v", err)
		}
		if *clvSpec.Of(again) != *c || !reflect.DeepEqual(actionsSpec.Of(again), a) || !reflect.DeepEqual(inputSpec.Of(again), inputSpec.Of(file)) {
			t.Fatalf("second decode differs")
		}
	})
}
