package regclient

import (
	"fmt"
	"strings"
	"time"
)

// BudgetError says a verification spent its request or byte budget.
type BudgetError struct {
	Requests int   // the request budget, when that is what ran out
	Bytes    int64 // the byte budget, when that is what ran out
}

func (e *BudgetError) Error() string {
	if e.Bytes > 0 {
		return fmt.Sprintf("stopped after reading %s from registries, the budget of one verification", size(e.Bytes))
	}
	return fmt.Sprintf("stopped after %d registry requests, the budget of one verification", e.Requests)
}

// TooLargeError says a response was larger than signet reads. The size is
// checked from Content-Length before reading, and enforced while reading.
type TooLargeError struct {
	Host, Method, Path string
	Size               int64 // announced size, or -1 when the body was cut off
	Limit              int64
}

func (e *TooLargeError) Error() string {
	if e.Size < 0 {
		return fmt.Sprintf("registry %s: %s %s sent more than the %s signet reads", e.Host, e.Method, e.Path, size(e.Limit))
	}
	return fmt.Sprintf("registry %s: %s %s is %d bytes, more than the %s signet reads", e.Host, e.Method, e.Path, e.Size, size(e.Limit))
}

// TimeoutError says an attempt was cut by the per-request timeout
// (Limits.RequestTimeout): no answer within After, or, with Body, an
// answer whose body did not arrive within it.
type TimeoutError struct {
	After time.Duration
	Body  bool
	Err   error
}

func (e *TimeoutError) Error() string {
	if e.Body {
		return fmt.Sprintf("body not received within %s: %v", e.After, e.Err)
	}
	return fmt.Sprintf("no answer within %s: %v", e.After, e.Err)
}

func (e *TimeoutError) Unwrap() error { return e.Err }

// RedirectError says a request was redirected more often than allowed.
type RedirectError struct {
	Host  string
	Limit int
}

func (e *RedirectError) Error() string {
	return fmt.Sprintf("registry %s: stopped after %d redirects", e.Host, e.Limit)
}

func size(n int64) string {
	if n >= 1<<20 && n%(1<<20) == 0 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d bytes", n)
}

// shortPath keeps a request path recognisable in a sentence: digests are
// cut to 12 hex characters.
func shortPath(p string) string {
	var b strings.Builder
	for {
		i := strings.Index(p, "sha256")
		if i < 0 || i+7+12 > len(p) {
			b.WriteString(p)
			return b.String()
		}
		start := i + 7 // after "sha256:" or "sha256-"
		end := start
		for end < len(p) && isHex(p[end]) {
			end++
		}
		b.WriteString(p[:min(end, start+12)])
		if end-start > 12 {
			b.WriteString("…")
		}
		p = p[end:]
	}
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f'
}
