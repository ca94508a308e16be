package regclient

import (
	"errors"
	"fmt"
)

// Failure is one kind of thing registries did to a piece of work, and how
// often: what a transient denial reports and metrics count, as data. Its
// String is the sentence ("registry ghcr.io answered 503 Service
// Unavailable 3 times").
type Failure struct {
	// Host is the registry host (or token realm) that failed.
	Host string `json:"host"`
	// Status is the HTTP status it answered; 0 when it did not answer
	// (refused, timed out, reset the connection).
	Status int `json:"status,omitempty"`
	// Count is how often it happened within the work.
	Count int `json:"count,omitempty"`
	// Cause is what happened, in a sentence.
	Cause string `json:"cause"`
	// Err is the error regclient returned for it when it is one of its own
	// (a redirect, size or budget limit): a step whose error wraps Err
	// already says it (Said).
	Err error `json:"-"`
}

func (f *Failure) String() string {
	if f == nil {
		return ""
	}
	return f.Cause + times(f.Count)
}

// Said reports whether err (a step's error) already says f: it wraps the
// very error f records. Nothing is compared as text.
func (f *Failure) Said(err error) bool {
	return f != nil && f.Err != nil && errors.Is(err, f.Err)
}

func times(n int) string {
	if n <= 1 {
		return ""
	}
	return fmt.Sprintf(" %d times", n)
}

// WithFailure returns err carrying f, what the registries did while the
// work that failed with err ran: for a caller that sees the error of
// shared work, not its Tracker. err's text is unchanged.
func WithFailure(err error, f *Failure) error {
	if err == nil || f == nil {
		return err
	}
	return &failedError{err: err, f: f}
}

// FailureOf is the Failure WithFailure attached to err, or nil.
func FailureOf(err error) *Failure {
	if fe := (*failedError)(nil); errors.As(err, &fe) {
		return fe.f
	}
	return nil
}

type failedError struct {
	err error
	f   *Failure
}

func (e *failedError) Error() string { return e.err.Error() }
func (e *failedError) Unwrap() error { return e.err }
