// Package node is signet at the container runtime: it decides every
// container a node is about to create, against the same trust file and
// with the same engine as the admission webhook, for what admission never
// saw or no longer vouches for: static pods, pods created while the
// webhook was bypassed, containers restarted after the trust file
// tightened, images preloaded on the node.
//
// Guard.Decide is pure apart from its Decider: Request in (namespace, pod,
// the image as the pod names it, the digest the runtime will run), Result
// out. It answers from a verdict the webhook signed when one covers the
// container (verdict.Claim.Covers), else verifies the digest itself within
// Budget, else applies the per-namespace "could not decide in time" policy
// (Undecided). The NRI plugin (Plugin) is a thin adapter from containerd's
// CreateContainer to Decide; cmd/signet-node wires it.
package node
