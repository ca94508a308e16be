package verify

import (
	"errors"
	"testing"

	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/trustroot"
)

// TestTrustMemoKeepsOnlyCompleteTrust: a rule's resolved trust is kept
// for its policy only when no part of it failed (a trusted root that could
// not be loaded, a key that could not be had is asked for again), and a
// new policy does not see the old one's.
func TestTrustMemoKeepsOnlyCompleteTrust(t *testing.T) {
	p, r, k := &policy.Policy{}, &policy.Rule{}, &policy.Key{}
	cases := []struct {
		name string
		t    *Trust
		kept bool
	}{
		{"complete", &Trust{root: &trustroot.Root{Version: "1"}, keys: map[*policy.Key]keyTrust{k: {keyID: "k"}}}, true},
		{"root failed", &Trust{rootErr: errors.New("TUF unreachable")}, false},
		{"key failed", &Trust{keys: map[*policy.Key]keyTrust{k: {err: errors.New("KMS throttled")}}}, false},
	}
	for _, c := range cases {
		var m trustMemo
		m.put(p, r, c.t)
		if got := m.get(p, r); (got == c.t) != c.kept {
			t.Errorf("%s: kept=%v, want %v", c.name, got == c.t, c.kept)
		}
		if got := m.get(&policy.Policy{}, r); got != nil {
			t.Errorf("%s: another policy sees this policy's trust", c.name)
		}
	}
}
