package btyd

import (
	"fmt"
	"runtime/debug"
	"sync"
)

// WorkerPanic is a panic on one of a computation's goroutines, raised
// again on the goroutine that waits for them, so that whoever runs the
// computation can recover it: an unrecovered panic on a goroutine of the
// package's own would end the process. It keeps the stack it first had.
type WorkerPanic struct {
	Value any
	Stack []byte
}

// String is the panic's own value, as a message.
func (p *WorkerPanic) String() string { return fmt.Sprint(p.Value) }

// PanicStack is the stack of the goroutine that panicked.
func (p *WorkerPanic) PanicStack() []byte { return p.Stack }

// group runs a computation's goroutines and waits for them.
type group struct {
	wg   sync.WaitGroup
	once sync.Once
	p    *WorkerPanic // the first panic; read after wg.Wait
}

// Go runs f on a goroutine of its own.
func (g *group) Go(f func()) {
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		defer func() {
			if v := recover(); v != nil {
				p := &WorkerPanic{Value: v, Stack: debug.Stack()}
				g.once.Do(func() { g.p = p })
			}
		}()
		f()
	}()
}

// Wait returns once every goroutine has, and panics with the first
// goroutine's panic, if one did.
func (g *group) Wait() {
	g.wg.Wait()
	if g.p != nil {
		panic(g.p)
	}
}
