// Package scan decides what already runs in a cluster. Admission only sees
// what is created from now on; a scan looks at every container of every pod
// by the digest its node actually runs (status.containerStatuses[].imageID,
// or the digest the pod spec pins when the node has not reported one yet)
// and asks the same engine as the webhook (a verify.Decider) what the trust
// policy says of it. ("audit" is a mode of the trust file; `sign audit` is
// the command that scans a cluster with this package.)
//
// Its results are typed Findings: `sign audit` prints them as a table or
// JSON, and enforce's background verifier renders them as PolicyReports.
// Each distinct digest is decided once per pass. In enforce the Decider is
// the webhook's Cache: its decision store keeps decisions across passes and
// admissions, keyed by what they depend on (digest, the governing rule's
// meaning hash, the trusted material's version), so a rescan under an
// unchanged or unrelatedly edited policy sends no registry request.
package scan
