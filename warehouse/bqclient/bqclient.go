// Package bqclient opens BigQuery clients for a job's settings and retries
// BigQuery calls that failed for reasons that go away (rate limits, backend
// errors, 5xx), with exponential backoff.
package bqclient

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"time"

	"cloud.google.com/go/bigquery"
	"github.com/rs/zerolog"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/option"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// ErrGaveUp is wrapped when a call still failed transiently after the last
// attempt.
var ErrGaveUp = errors.New("BigQuery kept failing transiently")

// Options are client options added after the job's own, so they win: tests
// point clients at fakes with them, and a deployment could add a private
// endpoint.
type Options struct {
	// REST configures the BigQuery API client (jobs, tables).
	REST []option.ClientOption
	// Storage configures the Storage Read API client.
	Storage []option.ClientOption
	// Retry replaces DefaultPolicy when Attempts > 0.
	Retry Policy
}

// Policy is how often and how patiently transient errors are retried.
type Policy struct {
	// Attempts is the most calls made, the first included.
	Attempts int
	// Initial is the wait before the second attempt; it doubles up to Max,
	// with ±25% jitter so parallel loads do not retry in step.
	Initial, Max time.Duration
}

// DefaultPolicy waits about 1, 2, 4, 8, 16, 32, 60 s: long enough to ride
// out a rate-limit window or a backend restart, short enough for a nightly
// job's retry by the scheduler to stay the fallback.
var DefaultPolicy = Policy{Attempts: 8, Initial: time.Second, Max: time.Minute}

// Connection says which project runs BigQuery jobs, where, and as whom.
// Credentials come from Application Default Credentials unless
// CredentialsFile names a service-account key file.
type Connection struct {
	Project string
	// Location is the dataset's location; empty lets BigQuery infer it.
	Location string
	// CredentialsFile is an absolute path; its contents are never logged.
	CredentialsFile string
}

// RetryPolicy is o.Retry, or DefaultPolicy when unset.
func (o Options) RetryPolicy() Policy {
	if o.Retry.Attempts > 0 {
		return o.Retry
	}
	return DefaultPolicy
}

// Open returns a BigQuery client for the job's project and location, with
// credentials from cfg.CredentialsFile (a service-account key) or else
// Application Default Credentials.
func Open(ctx context.Context, cfg Connection, o Options) (*bigquery.Client, error) {
	var opts []option.ClientOption
	if cfg.CredentialsFile != "" {
		opts = append(opts, option.WithAuthCredentialsFile(option.ServiceAccount, cfg.CredentialsFile))
	}
	c, err := bigquery.NewClient(ctx, cfg.Project, append(opts, o.REST...)...)
	if err != nil {
		return nil, fmt.Errorf("BigQuery client for project %s: %w", cfg.Project, err)
	}
	c.Location = cfg.Location
	return c, nil
}

// OpenStorage is Open with the Storage Read API enabled, so query results
// stream as Arrow record batches over gRPC.
func OpenStorage(ctx context.Context, cfg Connection, o Options) (*bigquery.Client, error) {
	c, err := Open(ctx, cfg, o)
	if err != nil {
		return nil, err
	}
	var opts []option.ClientOption
	if cfg.CredentialsFile != "" {
		opts = append(opts, option.WithAuthCredentialsFile(option.ServiceAccount, cfg.CredentialsFile))
	}
	if err := c.EnableStorageReadClient(ctx, append(opts, o.Storage...)...); err != nil {
		c.Close()
		return nil, fmt.Errorf("BigQuery Storage Read client: %w", err)
	}
	return c, nil
}

// transientReasons are the error reasons BigQuery documents as worth
// retrying.
var transientReasons = map[string]bool{
	"rateLimitExceeded": true, "backendError": true, "internalError": true,
	"jobBackendError": true, "jobInternalError": true,
}

// Transient reports whether err is worth retrying unchanged.
func Transient(err error) bool {
	var ge *googleapi.Error
	if errors.As(err, &ge) {
		switch ge.Code {
		case http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusBadGateway,
			http.StatusServiceUnavailable, http.StatusGatewayTimeout:
			return true
		}
		for _, e := range ge.Errors {
			if transientReasons[e.Reason] {
				return true
			}
		}
		return false
	}
	var be *bigquery.Error
	if errors.As(err, &be) {
		return transientReasons[be.Reason]
	}
	if s, ok := status.FromError(err); ok && s.Code() != codes.Unknown {
		return s.Code() == codes.Unavailable || s.Code() == codes.ResourceExhausted
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// Do calls fn until it succeeds, fails for good, or the attempts run out;
// what names the call in logs and errors.
func (p Policy) Do(ctx context.Context, log zerolog.Logger, what string, fn func() error) error {
	wait := p.Initial
	var err error
	for attempt := 1; ; attempt++ {
		if err = fn(); err == nil || !Transient(err) {
			return err
		}
		if attempt >= p.Attempts {
			return fmt.Errorf("%w: %s: %d attempts: %w", ErrGaveUp, what, attempt, err)
		}
		d := time.Duration(float64(wait) * (0.75 + rand.Float64()/2))
		log.Warn().Err(err).Str("call", what).Int("attempt", attempt).Dur("retry_in", d).Msg("transient BigQuery error, retrying")
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: %w (last error: %v)", what, ctx.Err(), err)
		case <-time.After(d):
		}
		wait = min(2*wait, p.Max)
	}
}
