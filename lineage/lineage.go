// Package lineage sends OpenLineage run events for every run (START, then
// COMPLETE or FAIL) to a file of JSON lines or an HTTP endpoint such as
// Marquez. Inputs are named by what the night reads; the output tables, the
// audience lists and the report by what stays the same from night to night,
// with the night's partition in a facet, so that a lineage graph holds one
// dataset per table. Every event is valid against the OpenLineage 2-0-2
// schema and the facet schemas its _schemaURLs name; the tests check that
// against copies of those schemas in testdata/openlineage.
package lineage

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"retain/config"
	"retain/night"
	"retain/pipeline"
	"retain/schemas"
	"retain/stages/clv/clvconfig"
	"retain/stages/extract"
	"retain/warehouse/bqsink"
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

// The schemas the events and facets name. Each standard facet's version is
// that of its file in the specification (the file's $id), and the tests
// validate against those files in testdata/openlineage: naming a version
// without its file there fails them.
const (
	eventSchemaURL = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
	facetsBase     = "https://openlineage.io/spec/facets/"

	nominalTimeURL   = facetsBase + "1-0-1/NominalTimeRunFacet.json#/$defs/NominalTimeRunFacet"
	errorMessageURL  = facetsBase + "1-0-1/ErrorMessageRunFacet.json#/$defs/ErrorMessageRunFacet"
	parentURL        = facetsBase + "1-2-0/ParentRunFacet.json#/$defs/ParentRunFacet"
	jobTypeURL       = facetsBase + "2-0-4/JobTypeJobFacet.json#/$defs/JobTypeJobFacet"
	schemaURL        = facetsBase + "1-2-0/SchemaDatasetFacet.json#/$defs/SchemaDatasetFacet"
	datasetTypeURL   = facetsBase + "1-0-1/DatasetTypeDatasetFacet.json#/$defs/DatasetTypeDatasetFacet"
	documentationURL = facetsBase + "1-1-0/DocumentationDatasetFacet.json#/$defs/DocumentationDatasetFacet"
	outputStatsURL   = facetsBase + "1-0-2/OutputStatisticsOutputDatasetFacet.json#/$defs/OutputStatisticsOutputDatasetFacet"
	subsetURL        = facetsBase + "1-0-0/BaseSubsetDatasetFacet.json#/$defs/OutputSubsetOutputDatasetFacet"

	// outcomeURL is retain's own facet; its schema is
	// facets/RetainOutcomeRunFacet.json in this package. It has no web
	// address, so it is named, like the producer, by a URN.
	outcomeURL = "urn:retain:lineage:facets:1-0-0:RetainOutcomeRunFacet.json#/$defs/RetainOutcomeRunFacet"
)

// Emitter turns pipeline runs into OpenLineage events. It implements
// pipeline.Observer; a failure to deliver an event is logged by the caller
// and never fails the run.
type Emitter struct {
	cfg      Config
	producer string
	client   *http.Client
	parent   *Parent
	root     *Parent
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

// Parent is another job's run, the way OpenLineage's ParentRunFacet names it.
type Parent struct {
	Namespace string
	Job       string
	RunID     string
}

// The environment variables that carry the run that started this one, in
// the form namespace/job/runId. OpenLineage's own integrations read these
// names (dbt-ol, for one), and a DAG fills them with the Airflow OpenLineage
// provider's macros lineage_parent_id(task_instance) and
// lineage_root_parent_id(task_instance).
const (
	ParentEnv     = "OPENLINEAGE_PARENT_ID"
	RootParentEnv = "OPENLINEAGE_ROOT_PARENT_ID"
)

var uuidPattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// ParseParent reads a parent run written namespace/job/runId. The job and
// the run id are the last two parts, so a namespace may hold slashes
// (airflow://host); the run id must be a UUID, as the facet's schema wants.
func ParseParent(s string) (*Parent, error) {
	rest, runID, ok := cutLast(s)
	ns, job, ok2 := cutLast(rest)
	if !ok || !ok2 || ns == "" || job == "" || runID == "" {
		return nil, fmt.Errorf("parent run %q: want namespace/job/runId", s)
	}
	if !uuidPattern.MatchString(runID) {
		return nil, fmt.Errorf("parent run %q: the run id %q is not a UUID", s, runID)
	}
	return &Parent{Namespace: ns, Job: job, RunID: runID}, nil
}

func cutLast(s string) (before, after string, ok bool) {
	i := strings.LastIndexByte(s, '/')
	if i < 0 {
		return "", "", false
	}
	return s[:i], s[i+1:], true
}

// SetParent names the run that started this one, such as the Airflow task
// instance that runs retain, and the root of that hierarchy (the DAG run)
// when known; every event then carries them in its ParentRunFacet, which
// hangs the run under the task in a lineage graph. A root without a parent
// is dropped: the facet has no place for it. Call it before the first event.
func (e *Emitter) SetParent(parent, root *Parent) {
	e.parent, e.root = parent, nil
	if parent != nil {
		e.root = root
	}
}

type dataset struct {
	Namespace    string         `json:"namespace"`
	Name         string         `json:"name"`
	Facets       map[string]any `json:"facets,omitempty"`
	OutputFacets map[string]any `json:"outputFacets,omitempty"`
}

// event is a RunEvent. Inputs and outputs are never nil: the schema wants
// arrays, and null is not one.
type event struct {
	EventType string    `json:"eventType"`
	EventTime string    `json:"eventTime"`
	Producer  string    `json:"producer"`
	SchemaURL string    `json:"schemaURL"`
	Run       run       `json:"run"`
	Job       job       `json:"job"`
	Inputs    []dataset `json:"inputs"`
	Outputs   []dataset `json:"outputs"`
}

type run struct {
	RunID  string         `json:"runId"`
	Facets map[string]any `json:"facets,omitempty"`
}

type job struct {
	Namespace string         `json:"namespace"`
	Name      string         `json:"name"`
	Facets    map[string]any `json:"facets,omitempty"`
}

func (e *Emitter) facet(schemaURL string, fields map[string]any) map[string]any {
	fields["_producer"] = e.producer
	fields["_schemaURL"] = schemaURL
	return fields
}

func (e *Emitter) base(eventType string, o pipeline.Options) event {
	// The night covers its run date in the job's zone, as the observation
	// window does.
	day, _ := time.ParseInLocation(time.DateOnly, o.RunDate, o.Job.Location())
	facets := map[string]any{
		"nominalTime": e.facet(nominalTimeURL, map[string]any{
			"nominalStartTime": day.Format(time.RFC3339),
			"nominalEndTime":   day.AddDate(0, 0, 1).Format(time.RFC3339),
		}),
	}
	if p := e.parent; p != nil {
		fields := map[string]any{
			"run": map[string]any{"runId": p.RunID},
			"job": map[string]any{"namespace": p.Namespace, "name": p.Job},
		}
		if r := e.root; r != nil {
			fields["root"] = map[string]any{
				"run": map[string]any{"runId": r.RunID},
				"job": map[string]any{"namespace": r.Namespace, "name": r.Job},
			}
		}
		facets["parent"] = e.facet(parentURL, fields)
	}
	return event{
		EventType: eventType,
		EventTime: time.Now().UTC().Format(time.RFC3339Nano),
		Producer:  e.producer,
		SchemaURL: eventSchemaURL,
		Run:       run{RunID: RunUUID(o.RunID), Facets: facets},
		Job: job{Namespace: e.cfg.Namespace, Name: o.Job.Name, Facets: map[string]any{
			"jobType": e.facet(jobTypeURL, map[string]any{"processingType": "BATCH", "integration": "RETAIN", "jobType": "JOB"}),
		}},
		Inputs:  inputs(o),
		Outputs: []dataset{},
	}
}

// inputs lists what the night reads: orders from BigQuery as OpenLineage
// names a table there (namespace bigquery, project.dataset.table); a folder
// of files as the folder, one dataset however many files it holds; a file
// or a glob as the files it resolves to, as the reader resolves them, so
// that --input DIR names DIR/fx_rates.csv rather than DIR/fx_rates.*. An
// input that resolves to nothing (no file yet, a path that does not exist)
// is left out: nothing of it is read.
func inputs(o pipeline.Options) []dataset {
	in := night.InputOf(o.Job)
	ds := []dataset{}
	if bq := in.Orders.BigQuery; bq != nil {
		ds = append(ds, dataset{Namespace: "bigquery", Name: bq.Ref().String()})
	} else {
		ds = append(ds, fileInputs(&in.Orders)...)
	}
	for _, src := range []*night.Source{in.OrderItems, in.FXRates} {
		if src != nil {
			ds = append(ds, fileInputs(src)...)
		}
	}
	return ds
}

func fileInputs(src *night.Source) []dataset {
	if st, err := os.Stat(src.Path); err == nil && st.IsDir() {
		return []dataset{{Namespace: "file", Name: src.Path}}
	}
	paths, err := extract.InputFiles(src.Path, src.Format)
	if err != nil {
		return nil
	}
	ds := make([]dataset, len(paths))
	for i, p := range paths {
		ds[i] = dataset{Namespace: "file", Name: p}
	}
	return ds
}

// RunStarted sends START.
func (e *Emitter) RunStarted(ctx context.Context, o pipeline.Options) error {
	return e.send(ctx, e.base("START", o))
}

// RunFinished sends COMPLETE with what the night committed, or FAIL with the
// error.
//
// A night without orders (exit code 3, status no_input) is COMPLETE with no
// outputs and the retain_outcome facet saying why. It did not fail: nothing
// was wrong and nothing was replaced, and the DAG marks the task skipped,
// not failed. Nor was it ABORT, which the specification keeps for a run
// "stopped abnormally"; the run concluded, with nothing to do.
func (e *Emitter) RunFinished(ctx context.Context, o pipeline.Options, sum *pipeline.Summary, runErr error) error {
	switch {
	case errors.Is(runErr, night.ErrNoInput):
		ev := e.base("COMPLETE", o)
		ev.Run.Facets["retain_outcome"] = e.facet(outcomeURL, map[string]any{"status": "no_input", "message": runErr.Error()})
		return e.send(ctx, ev)
	case runErr != nil:
		ev := e.base("FAIL", o)
		ev.Run.Facets["errorMessage"] = e.facet(errorMessageURL, map[string]any{"message": runErr.Error(), "programmingLanguage": "go"})
		return e.send(ctx, ev)
	}
	ev := e.base("COMPLETE", o)
	ev.Run.Facets["retain_outcome"] = e.facet(outcomeURL, map[string]any{"status": "ok"})
	ev.Outputs = append(ev.Outputs, e.tables(o, sum)...)
	artifacts, err := e.artifacts(sum)
	ev.Outputs = append(ev.Outputs, artifacts...)
	return errors.Join(e.send(ctx, ev), err)
}

// tables lists the tables the night wrote. A table is the same dataset
// every night, named where its readers find it: the BigQuery table when the
// job loads it there (the sink's project.dataset.prefix_table), otherwise
// its folder under the output root.
//
// The night's snapshot_date partition is the output's subset facet with a
// partition condition: the specification's way to say which part of a
// dataset a run wrote. DatasetVersion would say that the whole table is at
// a new version, and LifecycleStateChange OVERWRITE that the whole table
// was replaced, while a night replaces one partition and keeps the others.
func (e *Emitter) tables(o pipeline.Options, sum *pipeline.Summary) []dataset {
	sink := *bqsink.Section.Of(o.Job)
	var ds []dataset
	for _, t := range schemas.OutputsFor(clvconfig.Layout(o.Job)) {
		rows, ok := sum.Tables[t.Name]
		if !ok {
			continue
		}
		// The schema is what a reader of the dataset's storage finds: the
		// BigQuery table's columns, snapshot_date included, or the files',
		// whose folders hold snapshot_date instead.
		cols := t.FileColumns()
		if sink != nil {
			cols = t.PublishedColumns()
		}
		fields := make([]map[string]any, len(cols))
		for i, c := range cols {
			fields[i] = map[string]any{"name": c.Name, "type": c.Type.String(), "description": t.Describe(c), "ordinal_position": i + 1}
		}
		d := dataset{
			Namespace: "file",
			Name:      filepath.Join(sum.Output, t.Name),
			Facets: map[string]any{
				"schema":      e.facet(schemaURL, map[string]any{"fields": fields}),
				"datasetType": e.facet(datasetTypeURL, map[string]any{"datasetType": "TABLE"}),
			},
		}
		// The partition's own name: its folder, or BigQuery's partition id
		// (what follows $ in a partition decorator).
		partition := bqsink.PartitionColumn + "=" + sum.RunDate
		if sink != nil {
			d.Namespace, d.Name = "bigquery", sink.Ref(t.Name).String()
			partition = strings.ReplaceAll(sum.RunDate, "-", "")
		}
		if t.Doc != "" {
			d.Facets["documentation"] = e.facet(documentationURL, map[string]any{"description": t.Doc})
		}
		d.OutputFacets = map[string]any{
			"outputStatistics": e.facet(outputStatsURL, map[string]any{"rowCount": rows}),
			"subset":           e.partition(partition, sum.RunDate),
		}
		ds = append(ds, d)
	}
	return ds
}

func (e *Emitter) partition(id, date string) map[string]any {
	return e.facet(subsetURL, map[string]any{"outputCondition": map[string]any{
		"type":       "partition",
		"partitions": []map[string]any{{"identifier": id, "dimensions": map[string]any{bqsink.PartitionColumn: date}}},
	}})
}

// artifacts lists the other folders the night committed, the audience lists
// and the report, from its manifest. Each is named like a table, by its
// folder under the output root, with the night's partition in the subset
// facet; being files rather than tables, they say what they are with the
// dataset type FILE and a documentation facet.
func (e *Emitter) artifacts(sum *pipeline.Summary) ([]dataset, error) {
	raw, err := os.ReadFile(filepath.Join(pipeline.RunDir(sum.Output, sum.RunDate), pipeline.ManifestName))
	if err != nil {
		return nil, fmt.Errorf("lineage: audiences and report not listed: %w", err)
	}
	var m pipeline.Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("lineage: audiences and report not listed: manifest: %w", err)
	}
	var ds []dataset
	for _, rel := range m.Artifacts {
		folder := filepath.Dir(rel)
		d := dataset{
			Namespace:    "file",
			Name:         filepath.Join(sum.Output, folder),
			Facets:       map[string]any{"datasetType": e.facet(datasetTypeURL, map[string]any{"datasetType": "FILE"})},
			OutputFacets: map[string]any{"subset": e.partition(filepath.Base(rel), sum.RunDate)},
		}
		var doc string
		switch folder {
		case schemas.AudiencesDir:
			rows, lists := listRows(m.ArtifactRows, rel)
			doc = fmt.Sprintf("Audience lists for mail and automation tools: one CSV per list (%s), one row per customer.", strings.Join(lists, ", "))
			fields := make([]map[string]any, len(schemas.AudienceColumns))
			for i, c := range schemas.AudienceColumns {
				fields[i] = map[string]any{"name": c, "ordinal_position": i + 1}
			}
			d.Facets["schema"] = e.facet(schemaURL, map[string]any{"fields": fields})
			d.OutputFacets["outputStatistics"] = e.facet(outputStatsURL, map[string]any{"rowCount": rows, "fileCount": len(lists)})
		case schemas.ReportDir:
			doc = schemas.ReportFile + ": the night's HTML report (segments, cohort retention, retention trend, CLV, win-back stages)."
			d.OutputFacets["outputStatistics"] = e.facet(outputStatsURL, map[string]any{"fileCount": 1})
		}
		if doc != "" {
			d.Facets["documentation"] = e.facet(documentationURL, map[string]any{"description": doc})
		}
		ds = append(ds, d)
	}
	return ds, nil
}

// listRows sums the rows of the audience lists in the partition folder rel
// and names the lists, from the manifest's counts by file.
func listRows(counts map[string]int64, rel string) (rows int64, lists []string) {
	for _, p := range slices.Sorted(maps.Keys(counts)) {
		if filepath.Dir(p) == rel {
			rows += counts[p]
			lists = append(lists, strings.TrimSuffix(filepath.Base(p), ".csv"))
		}
	}
	return rows, lists
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
