// Package enforce is signet's Kubernetes admission webhook: every image of
// every workload is resolved to a digest, decided by the verify engine under
// the trust policy, and pinned to exactly the digest that was verified.
//
// The package is layered the way controller-runtime's webhook is: Handler is
// pure (AdmissionRequest in, AdmissionResponse out, tested without a
// server); HTTP decoding, size limits and response encoding live in
// Webhook; TLS, reloading and the metrics port live in Server. enforce never
// verifies anything itself: it asks a Decider.
package enforce
