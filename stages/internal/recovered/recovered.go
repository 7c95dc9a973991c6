// Package recovered turns panics of the Arrow Parquet code into errors.
// Its decoders panic on some corrupt bytes and its writer on some failed
// writes; both run on goroutines of the stages' own, where a panic would end
// the process without a status line, and no input may do that.
package recovered

import (
	"fmt"
	"runtime/debug"
	"strings"
)

// Panic is a recovered panic of the named component.
type Panic struct {
	// What panicked, as in "the decoder panicked".
	What  string
	Value any
	// Stack is where it panicked, for the log rather than the one-line
	// reason.
	Stack []byte
	// Is is the sentinel error the panic counts as; nil for none.
	Is error
}

func (p *Panic) Error() string {
	msg := fmt.Sprintf("the %s panicked: %s", p.What, strings.TrimSpace(fmt.Sprint(p.Value)))
	if p.Is != nil {
		return p.Is.Error() + ": " + msg
	}
	return msg
}

// PanicStack is where it panicked: a Panic raised again on another
// goroutine keeps it (see engine.PanicError).
func (p *Panic) PanicStack() []byte { return p.Stack }

// Unwrap lets errors.Is match the sentinel.
func (p *Panic) Unwrap() error { return p.Is }

// Call runs fn and returns a *Panic, wrapping is, when fn panics.
func Call(what string, is error, fn func() error) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = &Panic{What: what, Value: v, Stack: debug.Stack(), Is: is}
		}
	}()
	return fn()
}
