package e2e_test

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/rs/zerolog"

	"retain/btyd"
	"retain/jobfile"
	"retain/night"
	"retain/pipeline"
	"retain/schemas"
	"retain/stages"
	"retain/synth"
)

func near(t *testing.T, name string, got, want, rel float64) {
	t.Helper()
	if math.Abs(got-want) > rel*math.Abs(want) {
		t.Errorf("%s = %.5g, want %.5g ± %.1f%%", name, got, want, rel*100)
	}
}

// modelFitRows reads model_fit into maps keyed by "model/fit_scope".
func modelFitRows(t *testing.T, out, date string) map[string]map[string]any {
	tbl := readTable(t, out, schemas.ModelFit.Name, date)
	defer tbl.Release()
	tr := array.NewTableReader(tbl, 1000)
	defer tr.Release()
	rows := map[string]map[string]any{}
	for tr.Next() {
		rec := tr.Record()
		for i := 0; i < int(rec.NumRows()); i++ {
			row := map[string]any{}
			for c, f := range rec.Schema().Fields() {
				col := rec.Column(c)
				if col.IsNull(i) {
					continue
				}
				switch a := col.(type) {
				case *array.Float64:
					row[f.Name] = a.Value(i)
				case *array.String:
					row[f.Name] = a.Value(i)
				case *array.Boolean:
					row[f.Name] = a.Value(i)
				case *array.Int64:
					row[f.Name] = a.Value(i)
				}
			}
			rows[row["model"].(string)+"/"+row["fit_scope"].(string)] = row
		}
	}
	return rows
}

// TestCDNOWModelsFromRawOrders runs the job on CDNOW_sample's raw orders and
// checks the published CDNOW fits. In days, r, a, b, p, q and γ are the
// published values and α is 7 × the weekly α; refitting the run's own
// customer_summary in weeks gives the published log-likelihoods too.
func TestCDNOWModelsFromRawOrders(t *testing.T) {
	out := runCase(t, "../testdata/cdnow_sample", t.TempDir())
	fits := modelFitRows(t, out, "1997-09-30")
	bg, gg := fits["bgnbd/full"], fits["gamma_gamma/full"]
	if bg == nil || gg == nil || bg["converged"] != true || gg["converged"] != true {
		t.Fatalf("fits: %v", fits)
	}
	near(t, "r", bg["r"].(float64), 0.243, 0.005)
	near(t, "alpha/7", bg["alpha"].(float64)/7, 4.414, 0.005)
	near(t, "a", bg["a"].(float64), 0.793, 0.005)
	near(t, "b", bg["b"].(float64), 2.426, 0.005)
	near(t, "p", gg["p"].(float64), 6.25, 0.005)
	near(t, "q", gg["q"].(float64), 3.74, 0.005)
	near(t, "gamma", gg["gamma"].(float64), 15.44, 0.005)
	pn := fits["pareto_nbd/full"]
	near(t, "pareto r", pn["r"].(float64), 0.553, 0.005)
	near(t, "pareto alpha/7", pn["alpha"].(float64)/7, 10.578, 0.005)
	near(t, "pareto s", pn["s"].(float64), 0.606, 0.005)
	near(t, "pareto beta/7", pn["beta"].(float64)/7, 11.669, 0.005)
	// MBG/NBD against lifetimes' estimates for the same data in weeks.
	mbg := fits["mbgnbd/full"]
	near(t, "mbgnbd r", mbg["r"].(float64), 0.525, 0.005)
	near(t, "mbgnbd alpha/7", mbg["alpha"].(float64)/7, 6.183, 0.005)
	near(t, "mbgnbd a", mbg["a"].(float64), 0.891, 0.005)
	near(t, "mbgnbd b", mbg["b"].(float64), 1.614, 0.005)
	// Without a holdout auto keeps the highest likelihood: MBG/NBD's
	// beats BG/NBD's by a few tenths here (see the case's README).
	if mbg["is_selected"] != true || bg["is_selected"] != false || pn["is_selected"] != false {
		t.Errorf("selected: bgnbd %v, pareto_nbd %v, mbgnbd %v (%v); want mbgnbd", bg["is_selected"], pn["is_selected"], mbg["is_selected"], mbg["selection_reason"])
	}
	// Spend does not depend on the time unit: the run's own fit is the
	// published Gamma-Gamma likelihood.
	if ll := gg["log_likelihood"].(float64); math.Abs(ll-(-4055.9)) > 0.5 {
		t.Errorf("Gamma-Gamma LL %.2f, published -4055.9", ll)
	}
	if gg["customers"].(int64) != 946 {
		t.Errorf("gamma_gamma on %d repeat buyers, published 946", gg["customers"])
	}

	// The same customers in weeks: the published log-likelihoods.
	tbl := readTable(t, out, schemas.CustomerSummary.Name, "1997-09-30")
	defer tbl.Release()
	tr := array.NewTableReader(tbl, 1<<20)
	defer tr.Release()
	var c btyd.Customers
	for tr.Next() {
		rec := tr.Record()
		// The file's columns, which do not hold snapshot_date.
		idx := func(name string) int { return rec.Schema().FieldIndices(name)[0] }
		f := rec.Column(idx("frequency")).(*array.Int64)
		r := rec.Column(idx("recency_days")).(*array.Int64)
		T := rec.Column(idx("tenure_days")).(*array.Int64)
		for i := 0; i < f.Len(); i++ {
			c.Frequency = append(c.Frequency, float64(f.Value(i)))
			c.Recency = append(c.Recency, float64(r.Value(i))/7)
			c.T = append(c.T, float64(T.Value(i))/7)
		}
	}
	_, fit, err := btyd.FitBGNBD(btyd.Compress(c))
	if err != nil || math.Abs(fit.LogLikelihood-(-9582.4)) > 0.5 {
		t.Errorf("BG/NBD in weeks: LL %.2f (%v), published -9582.4", fit.LogLikelihood, err)
	}
	_, pfit, err := btyd.FitParetoNBD(btyd.Compress(c))
	if err != nil || math.Abs(pfit.LogLikelihood-(-9595.0)) > 0.5 {
		t.Errorf("Pareto/NBD in weeks: LL %.2f (%v), published -9595.0", pfit.LogLikelihood, err)
	}
}

// TestHoldoutAndAutoSelection runs a generated shop with a 90-day holdout.
func TestHoldoutAndAutoSelection(t *testing.T) {
	if raceEnabled {
		// Its fits of 3,000 customers are numerics on one goroutine each,
		// minutes under the race detector; the plain pass checks them.
		t.Skip("numerics only: checked in the plain pass")
	}
	shop, out := t.TempDir(), t.TempDir()
	if _, err := synth.Generate(synth.Options{Dir: shop, Customers: 3000, EndDate: time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC), Seed: 5}); err != nil {
		t.Fatal(err)
	}
	j, err := jobfile.Parse([]byte("name: h\ninput: {orders: {path: orders}, fx_rates: {path: fx_rates.csv}, reporting_currency: USD}\nclv: {holdout_days: 90, horizon_days: 30}\n"), shop)
	if err != nil {
		t.Fatal(err)
	}
	reg := &night.Registry{}
	if err := stages.RegisterAll(reg); err != nil {
		t.Fatal(err)
	}
	if _, err := pipeline.Run(context.Background(), pipeline.Options{Job: j, Registry: reg, RunDate: "2026-11-22", OutputDir: out, Log: zerolog.Nop()}); err != nil {
		t.Fatal(err)
	}
	fits := modelFitRows(t, out, "2026-11-22")
	if len(fits) != 7 {
		t.Fatalf("model_fit rows %v, want full and calibration for 3 models plus gamma_gamma", len(fits))
	}
	var selected string
	for k, r := range fits {
		if r["converged"] != true && r["model"] != "gamma_gamma" {
			t.Errorf("%s did not converge: %v", k, r["error"])
		}
		if r["is_selected"] == true && r["role"] == "purchase" {
			selected = r["model"].(string)
			if !strings.Contains(r["selection_reason"].(string), "holdout MAE") {
				t.Errorf("selection reason %q", r["selection_reason"])
			}
		}
	}
	// The lowest MAE wins, the first of bgnbd, pareto_nbd, mbgnbd on a tie.
	want, best := "", math.Inf(1)
	for _, name := range []string{"bgnbd", "pareto_nbd", "mbgnbd"} {
		if mae := fits[name+"/calibration"]["holdout_mae"].(float64); mae < best {
			want, best = name, mae
		}
	}
	if selected != want {
		t.Errorf("selected %s, want %s with holdout MAE %.4f", selected, want, best)
	}
	// Fit times are in the manifest, one per model_fit row.
	var m pipeline.Manifest
	raw, err := os.ReadFile(filepath.Join(pipeline.RunDir(out, "2026-11-22"), pipeline.ManifestName))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	if len(m.ModelFits) != len(fits) {
		t.Errorf("manifest times %d fits, model_fit has %d rows", len(m.ModelFits), len(fits))
	}
	for _, f := range m.ModelFits {
		if r := fits[f.Model+"/"+f.FitScope]; r == nil || (r["converged"] == true && f.Seconds <= 0) {
			t.Errorf("manifest fit time %+v for model_fit row %v", f, r)
		}
	}

	cal := fits["bgnbd/calibration"]
	pred, act := cal["holdout_predicted_total"].(float64), cal["holdout_actual_total"].(float64)
	if act <= 0 || math.Abs(pred-act)/act > 0.25 {
		t.Errorf("holdout: predicted %.0f purchase days against %.0f actual", pred, act)
	}

	// Predictions: the selected model's, bounded, in the renamed column; the
	// value columns exist exactly when the spend model fitted (this shop
	// mixes unconverted currencies, which can make Gamma-Gamma degenerate).
	spendOK := fits["gamma_gamma/full"]["converged"] == true
	if !spendOK && !strings.Contains(fits["gamma_gamma/full"]["error"].(string), "gamma_gamma") {
		t.Errorf("spend fit failed without saying why")
	}
	seg := readTable(t, out, schemas.CustomerSegments.Name, "2026-11-22")
	defer seg.Release()
	names := map[string]int{}
	for i, f := range seg.Schema().Fields() {
		names[f.Name] = i
	}
	if _, ok := names["expected_purchases_30d"]; !ok {
		t.Fatalf("no expected_purchases_30d column: %v", seg.Schema())
	}
	runDay := arrow.Date32FromTime(time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC))
	dated := 0
	tr := array.NewTableReader(seg, 1<<20)
	defer tr.Release()
	for tr.Next() {
		rec := tr.Record()
		pa := rec.Column(names["p_alive"]).(*array.Float64)
		clv := rec.Column(names["predicted_clv"]).(*array.Float64)
		model := rec.Column(names["clv_model"]).(*array.String)
		p0 := rec.Column(names["p_no_purchase_30d"]).(*array.Float64)
		next := rec.Column(names["expected_next_order_date"]).(*array.Date32)
		gap := rec.Column(names["avg_days_between_orders"]).(*array.Float64)
		freq := rec.Column(names["frequency"]).(*array.Int64)
		recency := rec.Column(names["recency_days"]).(*array.Int64)
		for i := 0; i < pa.Len(); i++ {
			if pa.IsNull(i) || pa.Value(i) < 0 || pa.Value(i) > 1 || clv.IsNull(i) == spendOK || (spendOK && clv.Value(i) < 0) || model.Value(i) != selected {
				t.Fatalf("row %d: p_alive %v clv %v model %v", i, pa.Value(i), clv.Value(i), model.Value(i))
			}
			// No purchase in 30 days is at least as likely as having
			// dropped out; the even-odds day is after the run date.
			if p0.IsNull(i) || p0.Value(i) > 1 || p0.Value(i) < 1-pa.Value(i)-1e-12 {
				t.Fatalf("row %d: p_no_purchase_30d %v with p_alive %v", i, p0.Value(i), pa.Value(i))
			}
			if next.IsValid(i) {
				dated++
				if next.Value(i) <= runDay {
					t.Fatalf("row %d: expected_next_order_date %v on or before the run date", i, next.Value(i).FormattedString())
				}
			}
			if x := freq.Value(i); (x == 0) != gap.IsNull(i) || (x > 0 && gap.Value(i) != float64(recency.Value(i))/float64(x)) {
				t.Fatalf("row %d: avg_days_between_orders %v for frequency %d, recency %d", i, gap.Value(i), x, recency.Value(i))
			}
		}
	}
	if dated == 0 {
		t.Error("no customer has an expected_next_order_date")
	}
	hold := renderTable(t, out, schemas.ModelHoldout.Name, "2026-11-22", out)
	if !strings.Contains(hold, "\nbgnbd,all,") || !strings.Contains(hold, "\npareto_nbd,0,") || !strings.Contains(hold, "\nmbgnbd,all,") {
		t.Errorf("model_holdout:\n%s", hold)
	}
}
