package recovered

import (
	"errors"
	"testing"
)

func TestCall(t *testing.T) {
	errBad := errors.New("unreadable input file")
	plain := errors.New("plain")
	if err := Call("decoder", errBad, func() error { return plain }); err != plain {
		t.Errorf("an error passes through: got %v", err)
	}
	err := Call("decoder", errBad, func() error { panic("CRC check failed") })
	var p *Panic
	if !errors.As(err, &p) || !errors.Is(err, errBad) || len(p.Stack) == 0 ||
		err.Error() != "unreadable input file: the decoder panicked: CRC check failed" {
		t.Errorf("err = %v", err)
	}
	if err := Call("parquet writer", nil, func() error { panic("failed to write magic number") }); err == nil ||
		err.Error() != "the parquet writer panicked: failed to write magic number" {
		t.Errorf("err = %v", err)
	}
}
