package e2e_test

import (
	"bytes"
	"fmt"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"retain/pipeline"
	"retain/schemas"
)

func reportOf(t *testing.T) (string, string) {
	t.Helper()
	out := runCase(t, "../testdata/retention_small", t.TempDir())
	path := filepath.Join(pipeline.PartitionDir(out, schemas.ReportDir, "2026-04-15"), schemas.ReportFile)
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return path, string(raw)
}

// TestReportContent checks the page is self-contained and shows the run's numbers.
func TestReportContent(t *testing.T) {
	_, html := reportOf(t)
	for _, want := range []string{
		`id="cohorts"`, `id="segments"`, `id="trend"`, `id="clv"`, `id="winback"`,
		// The page names the run date and the data.
		"Retention report — retention_small",
		"Run date 2026-04-15 · 5 customers · 9 orders · revenue 230.00 · first order 2026-01-05 · last order 2026-04-01",
		// January cohort: 2 customers, P1 back in March (+2) = 50%.
		`<td class="cohort">2026-01-01</td><td>2</td>`, ">50.0%<",
		// March retention (E − N) / S = 2/3.
		"2026-03: 66.7%",
		// Win-back stages at the job's thresholds: every customer ordered
		// within 90 days of 2026-04-15.
		`aria-label="Customers by win-back stage"`, `class="small">5</text><text x="64.0" y="192" text-anchor="middle" class="small">active (&lt; 90 days)`,
		"win-back 3 (270–364)", "lapsed (365+)",
		// Five customers are too few to fit a model: historical CLV is shown.
		`aria-label="Customers by historical CLV"`,
	} {
		if !strings.Contains(html, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	// Nothing of the run itself, so a rerun writes the same page: runCase's
	// run id, or a time of day.
	if strings.Contains(html, "golden") {
		t.Error("report names the run id")
	}
	if m := regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d`).FindString(html); m != "" {
		t.Errorf("report holds a time: %s", m)
	}
	if m := regexp.MustCompile(`(?i)(src|href)\s*=\s*"?(https?:)?//`).FindString(html); m != "" {
		t.Errorf("report loads from the network: %s", m)
	}
	heat := html[:strings.Index(html, `id="segment-table"`)]
	if n := strings.Count(heat, `<tr><td class="cohort">`); n != 3 {
		t.Errorf("heatmap has %d cohort rows, want 3 (Jan, Feb, Apr)", n)
	}
}

// chromium finds Debian's headless browser. CI installs it (.ci/run), so
// there a missing browser is a failure, not a skip.
func chromium(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("chromium not installed; .ci/run installs it")
	}
	t.Skip("chromium not installed (apt-get install chromium)")
	return ""
}

func headless(t *testing.T, bin string, args ...string) []byte {
	t.Helper()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
		"--user-data-dir=" + t.TempDir()}
	cmd := exec.Command(bin, append(base, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium: %v\n%s", err, stderr.String())
	}
	return out
}

// wideCase writes a job whose report has a long trend and a heatmap wider
// than any window: 40 monthly cohorts, each customer ordering again every
// few months, so the axis has to thin its labels and the heatmap to scroll.
func wideCase(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	job := "name: report_wide\ninput:\n  orders:\n    path: input/orders.csv\n  reporting_currency: EUR\noutput:\n  path: out\n"
	var orders strings.Builder
	orders.WriteString("order_id,customer_id,order_ts,amount,country\n")
	id := 0
	for c := 0; c < 40; c++ {
		for k := 0; k < 3; k++ {
			cust := fmt.Sprintf("C%02d%d", c, k)
			for m := c; m < 40; m += 1 + k {
				id++
				fmt.Fprintf(&orders, "%d,%s,%04d-%02d-%02d,%d.5,DE\n", id, cust, 2023+m/12, 1+m%12, 1+k*9, 5+c*k*37)
			}
		}
	}
	for name, body := range map[string]string{"job.yaml": job, "run_date": "2026-04-30\n", "input/orders.csv": orders.String()} {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out := runCase(t, dir, t.TempDir())
	return filepath.Join(pipeline.PartitionDir(out, schemas.ReportDir, "2026-04-30"), schemas.ReportFile)
}

// TestReportInChromium renders the report in headless Chromium: a laptop-size
// screenshot that is not blank, and no horizontal overflow at 1024 px. The
// wide case is laid out at 1,280 and 1,920 px, where the page's own script
// measures the trend's axis labels and the heatmap's box into the DOM.
func TestReportInChromium(t *testing.T) {
	bin := chromium(t)
	path, _ := reportOf(t)
	url := "file://" + path
	screenshot(t, bin, url, 1366, 900, "report.png")
	dom := headless(t, bin, "--window-size=1024,768", "--dump-dom", url)
	if !bytes.Contains(dom, []byte(`data-overflow="false"`)) {
		t.Errorf("page wider than a 1024 px window (or the check did not run)")
	}
	wide := "file://" + wideCase(t)
	for _, w := range []int{1280, 1920} {
		size := fmt.Sprintf("--window-size=%d,1000", w)
		screenshot(t, bin, wide, w, 1000, fmt.Sprintf("report-wide-%d.png", w))
		dom := string(headless(t, bin, size, "--dump-dom", wide))
		attrs := map[string]string{}
		for _, m := range regexp.MustCompile(`data-([a-z-]+)="([^"]*)"`).FindAllStringSubmatch(dom, -1) {
			attrs[m[1]] = m[2]
		}
		for k, want := range map[string]string{
			"overflow": "false", "xtick-overlap": "false", "heatmap-wide": "true", "heatmap-clipped": "false",
		} {
			if attrs[k] != want {
				t.Errorf("%d px: data-%s=%q, want %q (all: %v)", w, k, attrs[k], want, attrs)
			}
		}
		// The thinning must leave a readable axis, not a bare one.
		if n, _ := strconv.Atoi(attrs["xticks"]); n < 4 {
			t.Errorf("%d px: %d trend axis labels", w, n)
		}
	}
}

// screenshot takes a w×h screenshot and checks it is not blank.
func screenshot(t *testing.T, bin, url string, w, h int, name string) {
	t.Helper()
	shot := filepath.Join(t.TempDir(), name)
	headless(t, bin, fmt.Sprintf("--window-size=%d,%d", w, h), "--screenshot="+shot, url)
	f, err := os.Open(shot)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != w || b.Dy() != h {
		t.Errorf("screenshot is %v", b)
	}
	colors := map[uint32]bool{}
	for y := 0; y < img.Bounds().Dy(); y += 7 {
		for x := 0; x < img.Bounds().Dx(); x += 7 {
			r, g, b, _ := img.At(x, y).RGBA()
			colors[r>>12<<8|g>>12<<4|b>>12] = true
		}
	}
	if len(colors) < 8 {
		t.Errorf("%s looks blank: %d colours", name, len(colors))
	}
	if dir := os.Getenv("RETAIN_REPORT_SCREENSHOT_DIR"); dir != "" {
		raw, _ := os.ReadFile(shot)
		os.WriteFile(filepath.Join(dir, name), raw, 0o644)
	}
}
