package notationtest

import (
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/ocsp"
)

// State is what the revocation service does with a request.
type State int32

const (
	// Up answers: good, or revoked for the leaves Revoke named.
	Up State = iota
	// Down answers 503 at once, as a responder behind a failing load
	// balancer does.
	Down
	// Hang accepts the request and never answers, until the client gives
	// up or the test ends: the case a request timeout exists for.
	Hang
)

// Revocation is a CA's OCSP responder and CRL distribution point, each an
// HTTP server on loopback, answering for the CA's intermediate (the issuer
// of every leaf). Requests are counted, so a test can see a CRL served
// from a cache.
type Revocation struct {
	OCSPURL, CRLURL string
	ca              *CA
	state           atomic.Int32
	hung            chan struct{}

	mu      sync.Mutex
	revoked map[string]time.Time // serial -> revocation time

	OCSPRequests, CRLRequests atomic.Int64
}

func newRevocation(t testing.TB, ca *CA) *Revocation {
	r := &Revocation{ca: ca, revoked: map[string]time.Time{}, hung: make(chan struct{})}
	ocspSrv := httptest.NewServer(r.guard(&r.OCSPRequests, r.ocsp))
	crlSrv := httptest.NewServer(r.guard(&r.CRLRequests, r.crl))
	// Release hung handlers before the servers close (Close waits for them).
	t.Cleanup(crlSrv.Close)
	t.Cleanup(ocspSrv.Close)
	t.Cleanup(func() { close(r.hung) })
	r.OCSPURL, r.CRLURL = ocspSrv.URL+"/ocsp", crlSrv.URL+"/intermediate.crl"
	return r
}

// Set changes what the service does from now on.
func (r *Revocation) Set(s State) { r.state.Store(int32(s)) }

// Revoke marks a leaf revoked (an hour ago, with reason key compromise).
func (r *Revocation) Revoke(l *Leaf) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.revoked[l.Cert.SerialNumber.String()] = time.Now().Add(-time.Hour)
}

func (r *Revocation) guard(count *atomic.Int64, h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		count.Add(1)
		switch State(r.state.Load()) {
		case Down:
			http.Error(w, "responder down", http.StatusServiceUnavailable)
			return
		case Hang:
			select {
			case <-req.Context().Done():
			case <-r.hung:
			}
			panic(http.ErrAbortHandler) // no answer at all, not net/http's empty 200
		}
		h(w, req)
	})
}

// ocsp answers RFC 6960 requests by GET (base64 in the path) or POST.
func (r *Revocation) ocsp(w http.ResponseWriter, req *http.Request) {
	var raw []byte
	var err error
	if req.Method == http.MethodGet {
		p, _ := url.PathUnescape(strings.TrimPrefix(req.URL.Path, "/ocsp/"))
		raw, err = base64.StdEncoding.DecodeString(p)
	} else {
		raw, err = io.ReadAll(io.LimitReader(req.Body, 1<<16))
	}
	if err != nil {
		w.Write(ocsp.MalformedRequestErrorResponse)
		return
	}
	q, err := ocsp.ParseRequest(raw)
	if err != nil {
		w.Write(ocsp.MalformedRequestErrorResponse)
		return
	}
	now := time.Now()
	tmpl := ocsp.Response{Status: ocsp.Good, SerialNumber: q.SerialNumber, ThisUpdate: now.Add(-time.Minute), NextUpdate: now.Add(time.Hour)}
	r.mu.Lock()
	if at, ok := r.revoked[q.SerialNumber.String()]; ok {
		tmpl.Status, tmpl.RevokedAt, tmpl.RevocationReason = ocsp.Revoked, at, ocsp.KeyCompromise
	}
	r.mu.Unlock()
	der, err := ocsp.CreateResponse(r.ca.Intermediate, r.ca.Intermediate, tmpl, r.ca.interKey)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/ocsp-response")
	w.Write(der)
}

// crl serves the intermediate's CRL, valid for an hour.
func (r *Revocation) crl(w http.ResponseWriter, _ *http.Request) {
	now := time.Now()
	tmpl := &x509.RevocationList{Number: big.NewInt(now.UnixNano()), ThisUpdate: now.Add(-time.Minute), NextUpdate: now.Add(time.Hour)}
	r.mu.Lock()
	for serial, at := range r.revoked {
		n, _ := new(big.Int).SetString(serial, 10)
		tmpl.RevokedCertificateEntries = append(tmpl.RevokedCertificateEntries, x509.RevocationListEntry{SerialNumber: n, RevocationTime: at})
	}
	r.mu.Unlock()
	der, err := x509.CreateRevocationList(rand.Reader, tmpl, r.ca.Intermediate, r.ca.interKey)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/pkix-crl")
	w.Write(der)
}
