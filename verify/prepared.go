package verify

import (
	"sync"
	"sync/atomic"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/signet-dev/signet/policy"
)

// preparedSize bounds the references one Prepared remembers per policy:
// past it, the memo starts over (a cluster runs far fewer distinct
// references than that between trust-file changes).
const preparedSize = 4096

// Prepared remembers Prepare's parse and match of each image reference
// under one policy, so a request for a reference seen before skips
// parsing it (go-containerregistry's ParseReference is most of a cached
// admission's allocations). Prepare is pure, so its result for a (policy,
// reference) never changes; a new policy starts a new memo. Only references
// that Prepare passed on are kept; its decisions are made again. The zero
// value is ready; a Flow uses one when it has one.
type Prepared struct {
	cur atomic.Pointer[preparedOf]
}

type preparedOf struct {
	p *policy.Policy
	m sync.Map // image -> prepared
	n atomic.Int64
}

type prepared struct {
	ref   name.Reference
	match policy.Match
}

// Prepare is Prepare(req), from memory when req's reference was prepared
// under the same policy before.
func (m *Prepared) Prepare(req Request) (Subject, *Decision) {
	cur := m.cur.Load()
	if cur != nil && cur.p == req.Policy {
		if v, ok := cur.m.Load(req.Image); ok {
			pr := v.(prepared)
			return Subject{Request: req, Ref: pr.ref, Match: pr.match}, nil
		}
	}
	s, d := Prepare(req)
	if d != nil {
		return s, d
	}
	if cur == nil || cur.p != req.Policy || cur.n.Add(1) > preparedSize {
		next := &preparedOf{p: req.Policy}
		next.n.Store(1)
		m.cur.CompareAndSwap(cur, next) // a racing swap for the same reason is as good
		cur = m.cur.Load()
	}
	if cur.p == req.Policy {
		cur.m.Store(req.Image, prepared{ref: s.Ref, match: s.Match})
	}
	return s, nil
}
