// Package ci knows the CI systems signet signs in: which one is running,
// how to obtain its OIDC token, what identity Fulcio will certify from that
// token's claims, and where the job's outputs go. Keeping it in one place
// lets preflight predict the certificate before Fulcio is asked for it.
package ci
