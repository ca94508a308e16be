package verify

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/notaryproject/notation-core-go/revocation"
	"github.com/notaryproject/notation-core-go/revocation/crl"
	"github.com/notaryproject/notation-core-go/revocation/purpose"
	"github.com/notaryproject/notation-core-go/revocation/result"
)

// RevocationChecker learns whether the certificates of a chain have been
// revoked: the one network step of deciding a Notation signature, done
// after every offline check passed (so only chains a trust anchor vouches
// for send requests, and only to the responders they name). Tests give the
// Verifier one over local responders (WithRevocationChecker).
type RevocationChecker interface {
	Check(ctx context.Context, req RevocationRequest) RevocationStatus
}

// RevocationRequest is one chain to check.
type RevocationRequest struct {
	Chain []*x509.Certificate // leaf first, root last
	// Timestamping says the chain is a timestamp authority's.
	Timestamping bool
	// SigningTime is the authentic signing time, when the signature has one
	// (a revocation after it, with an invalidity date, does not count).
	SigningTime time.Time
	// Timeout bounds each OCSP or CRL request.
	Timeout time.Duration
}

// RevocationState is what a check found.
type RevocationState string

const (
	RevocationGood    RevocationState = "good"
	RevocationRevoked RevocationState = "revoked"
	// RevocationUnknown: no responder gave an answer (unreachable, timed
	// out, answered "unknown" or with something unusable).
	RevocationUnknown RevocationState = "unknown"
)

// RevocationStatus is the chain's status: good, or the first certificate
// found revoked (else the first whose status is unknown) and why.
type RevocationStatus struct {
	State       RevocationState
	Certificate *x509.Certificate
	Detail      string
}

// OCSPCRLChecker checks revocation as the Notary Project specifies and
// notation does (notation-core-go's validator): OCSP for each certificate
// that names a responder, falling back to its CRL distribution points;
// a certificate naming neither cannot be revoked. Every request is bounded
// by the request's Timeout (so a chain costs at most two timeouts: OCSP,
// then CRL, the chain's certificates in parallel). CRLs are kept until
// their NextUpdate, so a CRL is downloaded once per validity period,
// not once per admission; and a chain's definite status (good or
// revoked, never unknown) is kept for RevocationStatusTTL, so images
// signed with one certificate cost one OCSP round trip per TTL, not one
// per image.
type OCSPCRLChecker struct {
	crls     crlCache
	statuses *expiring[RevocationStatus]

	mu         sync.Mutex
	validators map[validatorKey]revocation.Validator
}

type validatorKey struct {
	timeout time.Duration
	purpose purpose.Purpose
}

// NewOCSPCRLChecker returns a checker with an empty CRL cache.
func NewOCSPCRLChecker() *OCSPCRLChecker {
	return &OCSPCRLChecker{crls: newCRLCache(maxCachedCRLs), statuses: newExpiring[RevocationStatus](maxCachedStatuses),
		validators: map[validatorKey]revocation.Validator{}}
}

// Check checks req.Chain.
func (c *OCSPCRLChecker) Check(ctx context.Context, req RevocationRequest) RevocationStatus {
	key := statusKey(req)
	if st, ok := c.statuses.get(key); ok {
		return st
	}
	st := c.check(ctx, req)
	if st.State != RevocationUnknown {
		c.statuses.put(key, st, time.Now().Add(RevocationStatusTTL))
	}
	return st
}

func (c *OCSPCRLChecker) check(ctx context.Context, req RevocationRequest) RevocationStatus {
	v, err := c.validator(req)
	if err != nil {
		return RevocationStatus{State: RevocationUnknown, Detail: err.Error()}
	}
	// OCSP then CRL: two requests' worth, with a margin for the chain's
	// certificates checked in parallel.
	ctx, cancel := context.WithTimeout(ctx, 2*req.Timeout+req.Timeout/2)
	defer cancel()
	results, err := v.ValidateContext(ctx, revocation.ValidateContextOptions{CertChain: req.Chain, AuthenticSigningTime: req.SigningTime})
	if err != nil {
		return RevocationStatus{State: RevocationUnknown, Detail: err.Error()}
	}
	return summarize(req.Chain, results)
}

func (c *OCSPCRLChecker) validator(req RevocationRequest) (revocation.Validator, error) {
	p := purpose.CodeSigning
	if req.Timestamping {
		p = purpose.Timestamping
	}
	key := validatorKey{req.Timeout, p}
	c.mu.Lock()
	defer c.mu.Unlock()
	if v := c.validators[key]; v != nil {
		return v, nil
	}
	client := &http.Client{Timeout: req.Timeout, Transport: revocationTransport}
	fetcher, err := crl.NewHTTPFetcher(client)
	if err != nil {
		return nil, err
	}
	fetcher.Cache = c.crls
	v, err := revocation.NewWithOptions(revocation.Options{OCSPHTTPClient: client, CRLFetcher: fetcher, CertChainPurpose: p})
	if err != nil {
		return nil, err
	}
	c.validators[key] = v
	return v, nil
}

// revocationTransport sends OCSP and CRL requests: plain HTTP as the
// responders are, no credentials, proxies from the environment.
var revocationTransport = func() http.RoundTripper {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 4
	return t
}()

// summarize reads notation-core-go's per-certificate results: revoked
// wins over unknown; a certificate that names no responder is fine.
func summarize(chain []*x509.Certificate, results []*result.CertRevocationResult) RevocationStatus {
	var unknown *RevocationStatus
	for i, r := range results {
		if i >= len(chain) || r == nil {
			continue
		}
		switch r.Result {
		case result.ResultOK, result.ResultNonRevokable:
		case result.ResultRevoked:
			return RevocationStatus{State: RevocationRevoked, Certificate: chain[i], Detail: serverErrors(r)}
		default:
			if unknown == nil {
				unknown = &RevocationStatus{State: RevocationUnknown, Certificate: chain[i], Detail: serverErrors(r)}
			}
		}
	}
	if unknown != nil {
		return *unknown
	}
	return RevocationStatus{State: RevocationGood}
}

// serverErrors is what each responder said, for the reason.
func serverErrors(r *result.CertRevocationResult) string {
	var parts []string
	for _, s := range r.ServerResults {
		if s == nil {
			continue
		}
		what := fmt.Sprintf("%s %s: %s", s.RevocationMethod, s.Server, s.Result)
		if s.Error != nil && !errors.Is(s.Error, context.Canceled) {
			what += " (" + s.Error.Error() + ")"
		}
		parts = append(parts, what)
	}
	return strings.Join(parts, "; ")
}
