package trustroot

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"
)

// Store hands out the trusted roots trust policies name. Public-good comes
// from its Refresher, so whoever runs the refresher keeps every verifier on
// the current root. A file is read when a policy pinning new content asks
// for it (the policy's hash covers the file's digest, so a new file means
// a new policy and new cache keys); only the latest content per path is
// kept.
type Store struct {
	publicGood *Refresher
	now        func() time.Time

	mu    sync.Mutex
	files map[string]*Root
}

// NewStore returns a store whose public-good root comes from pg.
func NewStore(pg *Refresher) *Store {
	return &Store{publicGood: pg, now: time.Now, files: map[string]*Root{}}
}

// PublicGood is the store's public-good refresher.
func (s *Store) PublicGood() *Refresher { return s.publicGood }

// Root returns the root spec names. digest is the content digest the
// policy pinned for a file spec ("" for public-good): a file that no longer
// has it changed after the policy was loaded, and is refused until the
// policy is reloaded, so a decision never pairs one policy hash with
// another root than the one it pinned.
func (s *Store) Root(ctx context.Context, spec, digest string) (*Root, error) {
	if spec == PublicGood || spec == "" {
		return s.publicGood.Root(ctx)
	}
	s.mu.Lock()
	r := s.files[spec]
	s.mu.Unlock()
	if r != nil && (digest == "" || r.Version == digest) {
		return r, nil
	}
	r, err := LoadFile(spec, s.now())
	if err != nil {
		return nil, err
	}
	if digest != "" && r.Version != digest {
		return nil, fmt.Errorf("trusted root %s changed since the trust policy was loaded (the policy pins %s, the file is now %s); it is used once the policy is reloaded", spec, digest, r.Version)
	}
	s.mu.Lock()
	s.files[spec] = r
	s.mu.Unlock()
	return r, nil
}

// Status is one root in force, for metrics.
type Status struct {
	Spec string
	*Root
	// LastSuccess is when the root was last confirmed current (TUF refresh
	// or file read); zero if never (the embedded snapshot after TUF failed).
	LastSuccess time.Time
}

// Statuses lists the roots in force, public-good first.
func (s *Store) Statuses() []Status {
	var out []Status
	if r := s.publicGood.Current(); r != nil {
		out = append(out, Status{Spec: PublicGood, Root: r, LastSuccess: s.publicGood.LastSuccess()})
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var files []Status
	for spec, r := range s.files {
		files = append(files, Status{Spec: spec, Root: r, LastSuccess: r.Loaded})
	}
	sort.Slice(files, func(i, j int) bool { return files[i].Spec < files[j].Spec })
	return append(out, files...)
}
