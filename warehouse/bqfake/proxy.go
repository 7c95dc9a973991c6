package bqfake

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
)

// Fault makes the proxy answer Times matching requests with an error.
type Fault struct {
	// Match picks the requests to fail.
	Match func(*http.Request) bool
	// Code and Reason are the error answered, e.g. 503 backendError or 429
	// rateLimitExceeded.
	Code   int
	Reason string
	// AfterForward passes the request on first and replaces the answer, as
	// when BigQuery accepted a job but the response was lost on the way.
	AfterForward bool
	// Times is how many matching requests fail.
	Times int
}

// Proxy forwards to a BigQuery endpoint (the fake or an emulator) and
// injects faults.
type Proxy struct {
	mu     sync.Mutex
	faults []*Fault
	// Injected counts the errors answered.
	Injected int
}

// NewProxy returns a started proxy to target.
func NewProxy(target string, faults ...*Fault) (*httptest.Server, *Proxy, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, nil, err
	}
	p := &Proxy{faults: faults}
	rp := httputil.NewSingleHostReverseProxy(u)
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f := p.take(r)
		if f == nil {
			rp.ServeHTTP(w, r)
			return
		}
		if f.AfterForward {
			// Read the whole answer and drop it.
			rp.ServeHTTP(httptest.NewRecorder(), r)
		} else {
			io.Copy(io.Discard, r.Body)
		}
		apiError(w, f.Code, f.Reason, fmt.Sprintf("injected %d %s", f.Code, f.Reason))
	})), p, nil
}

func (p *Proxy) take(r *http.Request) *Fault {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, f := range p.faults {
		if f.Times > 0 && f.Match(r) {
			f.Times--
			p.Injected++
			return f
		}
	}
	return nil
}

// IsLoadInsert matches the upload of a load job.
func IsLoadInsert(r *http.Request) bool {
	return r.Method == http.MethodPost && r.URL.Query().Get("uploadType") != ""
}

// IsTableGet matches reading a table's metadata.
func IsTableGet(r *http.Request) bool {
	return r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/tables/")
}

// IsJobInsert matches submitting a job without an upload (queries).
func IsJobInsert(r *http.Request) bool {
	return r.Method == http.MethodPost && r.URL.Query().Get("uploadType") == "" && strings.HasSuffix(r.URL.Path, "/jobs")
}
