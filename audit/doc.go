// Package audit decides what already runs in a cluster. Admission only sees
// what is created from now on; audit looks at every container of every pod
// by the digest its node actually runs (status.containerStatuses[].imageID,
// or the digest the pod spec pins when the node has not reported one yet)
// and asks the same engine as the webhook what the trust policy says of it.
//
// Its results are typed Findings: `sign audit` prints them as a table or
// JSON, and enforce's background verifier renders them as PolicyReports.
// Each distinct digest is decided once per pass, and a Memo keeps decisions
// across passes keyed by what they depend on (digest, the governing rule's
// meaning hash, the trusted root version), so a rescan under an unchanged or
// unrelatedly edited policy sends no registry request.
package audit
