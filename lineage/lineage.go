// Package lineage sends OpenLineage run events (START, then COMPLETE or FAIL)
// for every run, to a file of JSON lines or an HTTP endpoint such as Marquez,
// with the input dataset, the output tables, their schemas and row counts.
package lineage

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"retain/config"
	"retain/night"
	"retain/pipeline"
	"retain/schemas"
	"retain/stages/clv/clvconfig"
)

// Config is the job file's lineage section; empty means no events.
type Config struct {
	File      string `yaml:"file" doc:"A file, relative to the job file, that every event is appended to as a JSON line."`
	URL       string `yaml:"url" doc:"An OpenLineage HTTP endpoint, e.g. http://marquez:5000/api/v1/lineage."`
	Namespace string `yaml:"namespace" doc:"The namespace of the job in the events; empty means retain."`
}

// Section is the job file's lineage section.
var Section = config.NewSpec("lineage", "OpenLineage events for each run, to a file of JSON lines, an HTTP endpoint, or both; a delivery failure is logged and never fails the run.",
	func() Config { return Config{} },
	func(c *Config, env config.Env) error { c.File = env.Resolve(c.File); return nil })

const (
	schemaURL  = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
	facetsBase = "https://openlineage.io/spec/facets/1-0-1/"
)

// Emitter turns pipeline runs into OpenLineage events. It implements
// pipeline.Observer; a failure to deliver an event is logged by the caller
// and never fails the run.
type Emitter struct {
	cfg      Config
	producer string
	client   *http.Client
	mu       sync.Mutex
}

// New returns an emitter, or nil when cfg sends nowhere.
func New(cfg Config) *Emitter {
	if cfg.File == "" && cfg.URL == "" {
		return nil
	}
	if cfg.Namespace == "" {
		cfg.Namespace = "retain"
	}
	return &Emitter{cfg: cfg, producer: "urn:retain:" + pipeline.Version(), client: &http.Client{Timeout: 10 * time.Second}}
}

// RunUUID derives the UUID OpenLineage wants from a run id, the same every
// time, so START and COMPLETE of one run share it.
func RunUUID(runID string) string {
	h := sha1.Sum([]byte("retain/" + runID))
	h[6] = (h[6] & 0x0f) | 0x50 // version 5
	h[8] = (h[8] & 0x3f) | 0x80 // RFC 4122 variant
	return fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}

type dataset struct {
	Namespace    string         `json:"namespace"`
	Name         string         `json:"name"`
	Facets       map[string]any `json:"facets,omitempty"`
	OutputFacets map[string]any `json:"outputFacets,omitempty"`
}

type event struct {
	EventType string    `json:"eventType"`
	EventTime string    `json:"eventTime"`
	Producer  string    `json:"producer"`
	SchemaURL string    `json:"schemaURL"`
	Run       run       `json:"run"`
	Job       jobRef    `json:"job"`
	Inputs    []dataset `json:"inputs"`
	Outputs   []dataset `json:"outputs"`
}

type run struct {
	RunID  string         `json:"runId"`
	Facets map[string]any `json:"facets,omitempty"`
}

type jobRef struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
}

func (e *Emitter) facet(name string, fields map[string]any) map[string]any {
	fields["_producer"] = e.producer
	fields["_schemaURL"] = facetsBase + name + ".json"
	return fields
}

func (e *Emitter) base(eventType string, o pipeline.Options) event {
	nominal, _ := time.Parse(time.DateOnly, o.RunDate)
	return event{
		EventType: eventType,
		EventTime: time.Now().UTC().Format(time.RFC3339Nano),
		Producer:  e.producer,
		SchemaURL: schemaURL,
		Run: run{RunID: RunUUID(o.RunID), Facets: map[string]any{
			"nominalTime": e.facet("NominalTimeRunFacet", map[string]any{"nominalStartTime": nominal.Format(time.RFC3339)}),
		}},
		Job:    jobRef{Namespace: e.cfg.Namespace, Name: o.Job.Name},
		Inputs: inputs(o),
	}
}

// inputs lists every input the job reads: orders from files or BigQuery
// (OpenLineage's bigquery namespace and project.dataset.table name), order
// items and FX rates from files.
func inputs(o pipeline.Options) []dataset {
	in := night.InputOf(o.Job)
	ds := []dataset{{Namespace: "file", Name: in.Orders.Path}}
	if bq := in.Orders.BigQuery; bq != nil {
		ds[0] = dataset{Namespace: "bigquery", Name: bq.Project + "." + bq.Dataset + "." + bq.Table}
	}
	for _, src := range []*night.Source{in.OrderItems, in.FXRates} {
		if src != nil {
			ds = append(ds, dataset{Namespace: "file", Name: src.Path})
		}
	}
	return ds
}

// RunStarted sends START.
func (e *Emitter) RunStarted(ctx context.Context, o pipeline.Options) error {
	return e.send(ctx, e.base("START", o))
}

// RunFinished sends COMPLETE with the written tables, or FAIL with the error.
func (e *Emitter) RunFinished(ctx context.Context, o pipeline.Options, sum *pipeline.Summary, runErr error) error {
	if runErr != nil {
		ev := e.base("FAIL", o)
		ev.Run.Facets["errorMessage"] = e.facet("ErrorMessageRunFacet", map[string]any{"message": runErr.Error(), "programmingLanguage": "go"})
		return e.send(ctx, ev)
	}
	ev := e.base("COMPLETE", o)
	for _, t := range schemas.OutputsFor(clvconfig.Layout(o.Job)) {
		rows, ok := sum.Tables[t.Name]
		if !ok {
			continue
		}
		fields := make([]map[string]string, len(t.Columns))
		for i, c := range t.Columns {
			fields[i] = map[string]string{"name": c.Name, "type": c.Type.String(), "description": c.Doc}
		}
		ev.Outputs = append(ev.Outputs, dataset{
			Namespace:    "file",
			Name:         pipeline.PartitionDir(sum.Output, t.Name, sum.RunDate),
			Facets:       map[string]any{"schema": e.facet("SchemaDatasetFacet", map[string]any{"fields": fields})},
			OutputFacets: map[string]any{"outputStatistics": e.facet("OutputStatisticsOutputDatasetFacet", map[string]any{"rowCount": rows})},
		})
	}
	return e.send(ctx, ev)
}

func (e *Emitter) send(ctx context.Context, ev event) error {
	raw, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	if e.cfg.File != "" {
		if err := e.appendLine(raw); err != nil {
			return fmt.Errorf("lineage file: %w", err)
		}
	}
	if e.cfg.URL != "" {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.cfg.URL, bytes.NewReader(raw))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := e.client.Do(req)
		if err != nil {
			return fmt.Errorf("lineage endpoint: %w", err)
		}
		resp.Body.Close()
		if resp.StatusCode >= 300 {
			return fmt.Errorf("lineage endpoint %s answered %s", e.cfg.URL, resp.Status)
		}
	}
	return nil
}

// appendLine serialises writers: a parallel backfill shares one emitter.
func (e *Emitter) appendLine(raw []byte) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := os.MkdirAll(filepath.Dir(e.cfg.File), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(e.cfg.File, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(append(raw, '\n')); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
