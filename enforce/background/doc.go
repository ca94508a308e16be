// Package background is enforce's background verifier: admission only sees
// what is created from now on, so one replica (elected through a Kubernetes
// Lease) watches every pod in the cluster and decides every image that
// runs, by the digest its node runs, with the webhook's own decision cache
// and registry limits. It decides again when the trust policy or the
// trusted root changes and periodically, and keeps signet's PolicyReports
// equal to what it found.
//
// It is built so that it cannot slow admissions: it shares no lock with the
// webhook handler (only the decision cache, which admissions and scans both
// read), runs a bounded number of verifications at a time, and only the
// leader holds the pod cache.
package background
