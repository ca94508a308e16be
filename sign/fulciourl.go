package sign

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
)

// The OIDC identity token is the CI job's identity: whoever holds it can
// get a certificate in the job's name until it expires. It goes to the
// Fulcio the run names and nowhere else, and never in clear over a network.

// checkFulcioURL refuses a Fulcio URL the token must not be sent to: one
// that is not https, unless it is plain http to a loopback address (a
// Fulcio on the same machine, as tests and the demo run it).
func checkFulcioURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return fmt.Errorf("Fulcio URL %q is not an absolute URL", raw)
	}
	switch {
	case u.Scheme == "https":
		return nil
	case u.Scheme == "http" && loopback(u.Hostname()):
		return nil
	}
	return fmt.Errorf("Fulcio URL %q: the OIDC identity token is only sent over https (plain http only to a loopback address)", raw)
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// fulcioClient posts to Fulcio through rt and follows a redirect only on
// Fulcio's own scheme and host: Go re-sends a 307/308's body, and the
// body holds the token.
func fulcioClient(rt http.RoundTripper) *http.Client {
	return &http.Client{Transport: rt, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		first := via[0].URL
		if req.URL.Scheme != first.Scheme || req.URL.Host != first.Host {
			return fmt.Errorf("Fulcio %s redirected to %s://%s: the OIDC identity token is not sent to another host", first.Host, req.URL.Scheme, req.URL.Host)
		}
		if len(via) >= 10 {
			return fmt.Errorf("Fulcio %s: stopped after 10 redirects", first.Host)
		}
		return nil
	}}
}
