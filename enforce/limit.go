package enforce

import (
	"fmt"
	"io"
	"net/http"
	"sync"
)

// LimitTransport caps concurrent requests per registry host, so a burst of
// admissions (a Deployment rollout, a node drain) cannot overrun one
// registry or trip its rate limits. Waiting for a slot honours the
// request's context: the admission deadline still applies.
func LimitTransport(base http.RoundTripper, perHost int) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return &limitTransport{base: base, per: perHost, sems: map[string]chan struct{}{}}
}

type limitTransport struct {
	base http.RoundTripper
	per  int
	mu   sync.Mutex
	sems map[string]chan struct{}
}

func (l *limitTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	l.mu.Lock()
	sem := l.sems[r.URL.Host]
	if sem == nil {
		sem = make(chan struct{}, l.per)
		l.sems[r.URL.Host] = sem
	}
	l.mu.Unlock()
	select {
	case sem <- struct{}{}:
	case <-r.Context().Done():
		return nil, fmt.Errorf("waiting for a connection slot to %s: %w", r.URL.Host, r.Context().Err())
	}
	resp, err := l.base.RoundTrip(r)
	if err != nil {
		<-sem
		return nil, err
	}
	// Hold the slot until the body is consumed: that is when the registry
	// is done serving us.
	resp.Body = &releaseBody{ReadCloser: resp.Body, release: func() { <-sem }}
	return resp, nil
}

type releaseBody struct {
	io.ReadCloser
	once    sync.Once
	release func()
}

func (b *releaseBody) Close() error {
	err := b.ReadCloser.Close()
	b.once.Do(b.release)
	return err
}
