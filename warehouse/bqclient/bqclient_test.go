package bqclient

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"cloud.google.com/go/bigquery"
	"github.com/rs/zerolog"
	"google.golang.org/api/googleapi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestTransient(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"503", &googleapi.Error{Code: 503}, true},
		{"429", &googleapi.Error{Code: 429}, true},
		{"rate limit as 403", &googleapi.Error{Code: 403, Errors: []googleapi.ErrorItem{{Reason: "rateLimitExceeded"}}}, true},
		{"backend error as 400", &googleapi.Error{Code: 400, Errors: []googleapi.ErrorItem{{Reason: "backendError"}}}, true},
		{"wrapped 500", fmt.Errorf("load: %w", &googleapi.Error{Code: 500}), true},
		{"404", &googleapi.Error{Code: 404, Errors: []googleapi.ErrorItem{{Reason: "notFound"}}}, false},
		{"403 access denied", &googleapi.Error{Code: 403, Errors: []googleapi.ErrorItem{{Reason: "accessDenied"}}}, false},
		{"job backend error", &bigquery.Error{Reason: "backendError"}, true},
		{"job invalid", &bigquery.Error{Reason: "invalid"}, false},
		{"grpc unavailable", status.Error(codes.Unavailable, "x"), true},
		{"grpc invalid", status.Error(codes.InvalidArgument, "x"), false},
		{"plain", errors.New("x"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Transient(tt.err); got != tt.want {
				t.Errorf("Transient(%v) = %v", tt.err, got)
			}
		})
	}
}

func TestPolicyDo(t *testing.T) {
	p := Policy{Attempts: 3, Initial: time.Millisecond, Max: time.Millisecond}
	calls := 0
	err := p.Do(context.Background(), zerolog.Nop(), "x", func() error {
		calls++
		if calls < 3 {
			return &googleapi.Error{Code: 503}
		}
		return nil
	})
	if err != nil || calls != 3 {
		t.Fatalf("err %v after %d calls", err, calls)
	}
	calls = 0
	err = p.Do(context.Background(), zerolog.Nop(), "x", func() error { calls++; return &googleapi.Error{Code: 503} })
	if !errors.Is(err, ErrGaveUp) || calls != 3 {
		t.Fatalf("err %v after %d calls, want ErrGaveUp after 3", err, calls)
	}
	calls = 0
	err = p.Do(context.Background(), zerolog.Nop(), "x", func() error { calls++; return &googleapi.Error{Code: 400} })
	if errors.Is(err, ErrGaveUp) || calls != 1 {
		t.Fatalf("permanent error retried: %v after %d calls", err, calls)
	}
}
