package policy

import (
	"sync"
	"sync/atomic"
)

// memoSize bounds the repositories a Policy remembers the match of. A
// cluster runs far fewer; a flood of distinct names (every admission may
// name any image) only restarts the memo, never grows it.
const memoSize = 4096

// matchMemo remembers which rule governs each repository matched under one
// Policy. The rules are fixed for the Policy's life (a reload makes a new
// Policy, with a new hash and an empty memo), so a remembered Match is
// exactly what matching again would return: an admission of an image seen
// before does a map lookup, not a rule scan. Only matches are remembered;
// an unmatched repository is matched again (it is denied anyway).
type matchMemo struct {
	m atomic.Pointer[sync.Map] // repository -> Match
	n atomic.Int64
}

func newMatchMemo() *matchMemo {
	c := &matchMemo{}
	c.m.Store(&sync.Map{})
	return c
}

func (c *matchMemo) get(repo string) (Match, bool) {
	if c == nil {
		return Match{}, false
	}
	v, ok := c.m.Load().Load(repo)
	if !ok {
		return Match{}, false
	}
	return v.(Match), true
}

func (c *matchMemo) put(repo string, m Match) {
	if c == nil {
		return
	}
	if c.n.Add(1) > memoSize {
		c.m.Store(&sync.Map{})
		c.n.Store(1)
	}
	c.m.Load().Store(repo, m)
}
