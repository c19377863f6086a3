package testkit

import (
	"fmt"
	"runtime"
	"testing"
)

// Failure runs fn, a call of a test helper, with a testing.TB whose Fatal and Fatalf end fn as
// testing.T's do, and returns what it failed with ("" when it did not fail), so that the tests
// of a test helper can check how it fails. The rest of tb's methods are tb's own.
func Failure(tb testing.TB, fn func(tb testing.TB)) string {
	tb.Helper()
	f := &failureTB{TB: tb}
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(f)
	}()
	<-done
	return f.msg
}

// failureTB is Failure's testing.TB.
type failureTB struct {
	testing.TB
	msg string // written by fn's goroutine before done is closed, read after
}

func (f *failureTB) Helper() {}

func (f *failureTB) Fatal(args ...any) {
	f.msg = fmt.Sprint(args...)
	runtime.Goexit()
}

func (f *failureTB) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}
