package engine

import (
	"fmt"
	"runtime/debug"
	"strings"
)

// PanicError is a stage's panic, turned into the error of the call that
// panicked so the run fails like any other: its stage is named, every
// stage is closed and nothing is committed, where a panic would end the
// process with a stack trace and no status line. It wraps ErrStagePanicked.
type PanicError struct {
	Value any
	// Stack is where it panicked, for the log rather than the one-line
	// reason.
	Stack []byte
}

func (p *PanicError) Error() string {
	return fmt.Sprintf("%s: %s", ErrStagePanicked, strings.TrimSpace(fmt.Sprint(p.Value)))
}

// Unwrap lets errors.Is match ErrStagePanicked.
func (p *PanicError) Unwrap() error { return ErrStagePanicked }

// protect calls fn and returns a *PanicError when it panics. The engine
// calls every method of a stage through it, on the runner's goroutine and
// on a background stage's. A panic raised again from another goroutine
// (one a stage's library waited for) keeps the stack it first had when its
// value says what it was, through a PanicStack method.
func protect(fn func() error) (err error) {
	defer func() {
		if v := recover(); v != nil {
			p := &PanicError{Value: v}
			if s, ok := v.(interface{ PanicStack() []byte }); ok {
				p.Stack = s.PanicStack()
			} else {
				p.Stack = debug.Stack()
			}
			err = p
		}
	}()
	return fn()
}
