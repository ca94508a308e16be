package audit

import (
	"container/list"
	"sync"
	"time"

	"github.com/signet-dev/signet/verify"
)

// Memo keeps decisions across passes, keyed by what a decision depends on:
// the reference verified (repository and digest), the governing rule's
// meaning hash (policy.Rule.Hash) and the trusted root version. An edit of
// the trust file that leaves a rule's meaning alone leaves its digests'
// decisions valid; one that changes it misses here and re-verifies exactly
// the digests that rule governs.
//
// Entries are evicted oldest-inserted first beyond Size. Infrastructure
// failures are never kept.
type Memo struct {
	// Size bounds the entries (default 20000).
	Size int
	// MaxAge is how long an allowed decision is reused (default 24h): the
	// registry is asked again about a passing digest at most this often.
	MaxAge time.Duration

	mu      sync.Mutex
	entries map[string]*list.Element
	order   *list.List
}

type memoEntry struct {
	key string
	d   *verify.Decision
	at  time.Time
}

// get returns the decision for key and when it was made, if it is still
// fresh: allowed decisions for MaxAge, denials until a pass asks for them
// to be re-verified (reverifyDenied), since a denial is fixed by signing;
// neither past its own ValidUntil.
func (m *Memo) get(key string, now time.Time, reverifyDenied bool) (*verify.Decision, time.Time, bool) {
	if m == nil {
		return nil, time.Time{}, false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	el, ok := m.entries[key]
	if !ok {
		return nil, time.Time{}, false
	}
	e := el.Value.(*memoEntry)
	denied := len(e.d.Reasons) > 0
	if denied && reverifyDenied || !denied && now.Sub(e.at) >= m.maxAge() {
		return nil, time.Time{}, false
	}
	if v := e.d.ValidUntil; v != nil && !now.Before(*v) {
		return nil, time.Time{}, false // an attestation it rests on became too old
	}
	return e.d, e.at, true
}

func (m *Memo) put(key string, d *verify.Decision, at time.Time) {
	if m == nil || !seedable(d) {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.entries == nil {
		m.entries, m.order = map[string]*list.Element{}, list.New()
	}
	if el, ok := m.entries[key]; ok {
		el.Value = &memoEntry{key: key, d: d, at: at}
		return
	}
	m.entries[key] = m.order.PushBack(&memoEntry{key: key, d: d, at: at})
	size := m.Size
	if size <= 0 {
		size = 20000
	}
	for m.order.Len() > size {
		old := m.order.Front()
		m.order.Remove(old)
		delete(m.entries, old.Value.(*memoEntry).key)
	}
}

// Len is the number of decisions kept.
func (m *Memo) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.entries)
}

// DefaultMaxAge is Memo.MaxAge's default.
const DefaultMaxAge = 24 * time.Hour

func (m *Memo) maxAge() time.Duration {
	if m.MaxAge <= 0 {
		return DefaultMaxAge
	}
	return m.MaxAge
}
