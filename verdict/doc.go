// Package verdict is the signed record of an admission decision that a node
// can check on its own, in microseconds, without asking the webhook or a
// registry: "signet admitted these digests for this pod in this namespace
// under this trust file (and these rules), at this time".
//
// The webhook issues one per admitted pod (Signer.Sign) and the mutating
// webhook carries it on the pod (annotation Annotation). signet-node
// (enforce/node) accepts it only through Verifier.Verify and Claim.Covers:
// signed by a key the node trusts, for the exact digest the runtime is
// about to run, the same namespace and pod, the trust file the node has
// now (its hash, and the governing rule's hash), and younger than the
// node's max age. Anything else is not a verdict: the node then verifies
// the image itself. An annotation can therefore only ever save the node
// work it would otherwise do; it can never allow what verification would
// deny.
//
// The format is a DSSE envelope (ed25519) over an in-toto v1 Statement
// whose predicate is a SLSA Verification Summary
// (https://slsa.dev/verification_summary/v1): subjects are the images
// (repository and sha256 digest, the governing rule's hash as a subject
// annotation), policy.digest is the trust file's hash, resourceUri names
// the pod (ResourceURI).
package verdict
