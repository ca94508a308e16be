package stack_test

import (
	"testing"

	"github.com/sigstore/sigstore-go/pkg/root"
)

// The generated trust material must load with sigstore-go exactly as clients load it
// and describe this stack: one Fulcio CA, one TSA, one Rekor v2 log, no CT log.
func TestTrustMaterialLoads(t *testing.T) {
	s := sharedStack(t)
	tr, err := root.NewTrustedRootFromPath(s.TrustedRootPath)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(tr.FulcioCertificateAuthorities()); n != 1 {
		t.Errorf("%d certificate authorities, want 1", n)
	}
	if n := len(tr.TimestampingAuthorities()); n != 1 {
		t.Errorf("%d timestamp authorities, want 1", n)
	}
	if n := len(tr.RekorLogs()); n != 1 {
		t.Errorf("%d tlogs, want 1", n)
	}
	if n := len(tr.CTLogs()); n != 0 {
		t.Errorf("%d ctlogs, want 0 (Fulcio runs without CT)", n)
	}
	sc, err := root.NewSigningConfigFromPath(s.SigningConfigPath)
	if err != nil {
		t.Fatal(err)
	}
	if got := sc.FulcioCertificateAuthorityURLs(); len(got) != 1 || got[0].URL != s.Fulcio.URL {
		t.Errorf("signing config CA URLs = %+v", got)
	}
	if got := sc.RekorLogURLs(); len(got) != 1 || got[0].URL != s.Rekor.URL || got[0].MajorAPIVersion != 2 {
		t.Errorf("signing config Rekor URLs = %+v, want %s (v2)", got, s.Rekor.URL)
	}
	if got := sc.TimestampAuthorityURLs(); len(got) != 1 || got[0].URL != s.TSA.TimestampURL() {
		t.Errorf("signing config TSA URLs = %+v", got)
	}
}
