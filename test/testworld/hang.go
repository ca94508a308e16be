package testworld

import (
	"net/http"
	"net/http/httptest"
	"sync/atomic"
)

// Hang is a server that accepts every request and never answers, like a
// service behind a stuck load balancer: the way to prove a client's
// timeouts. Requests counts what it swallowed.
type Hang struct {
	URL      string
	Requests atomic.Int64
}

// NewHang starts one; it is stopped by t.Cleanup.
func NewHang(t TB) *Hang {
	h := &Hang{}
	stop := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.Requests.Add(1)
		select {
		case <-r.Context().Done():
		case <-stop:
		}
		panic(http.ErrAbortHandler) // no answer at all, not net/http's empty 200
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(stop) })
	h.URL = srv.URL
	return h
}
