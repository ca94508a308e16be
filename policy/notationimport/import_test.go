package notationimport_test

import (
	"context"
	"crypto/x509/pkix"
	"encoding/json"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/notaryproject/notation-go/verifier/trustpolicy"
	"github.com/notaryproject/notation-go/verifier/truststore"

	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/policy/notationimport"
	"github.com/signet-dev/signet/test/notationtest"
	"github.com/signet-dev/signet/test/testworld"
	"github.com/signet-dev/signet/verify"
)

// trustPolicy is a notation trustpolicy.oci.json over one registry:
// statements of each level, an override, a TSA store and a statement that
// trusts any subject. HOST is the registry.
const trustPolicy = `{"version": "1.0", "trustPolicies": [
 {"name": "acme-release", "registryScopes": ["HOST/acme/app"], "signatureVerification": {"level": "strict"},
  "trustStores": ["ca:acme"], "trustedIdentities": ["x509.subject: C=US, ST=WA, O=Acme, CN=release", "x509.subject: C=US, ST=WA, O=Acme, CN=hotfix"]},
 {"name": "vendor", "registryScopes": ["HOST/vendor/db"],
  "signatureVerification": {"level": "permissive", "override": {"expiry": "log"}, "verifyTimestamp": "afterCertExpiry"},
  "trustStores": ["ca:acme", "tsa:stamps"], "trustedIdentities": ["x509.subject: C=US, ST=WA, O=Acme"]},
 {"name": "third-party", "registryScopes": ["HOST/third/party"], "signatureVerification": {"level": "skip"}},
 {"name": "anyone", "registryScopes": ["HOST/anyone/app"], "signatureVerification": {"level": "strict", "override": {"revocation": "skip"}},
  "trustStores": ["ca:acme"], "trustedIdentities": ["*"]}
]}`

// TestConvertDecidesAsNotation converts the document and the trust store
// (a PEM and a DER file), loads the result as a trust file, and decides a
// set of signatures with signet and with notation.Verify: the verdicts are
// the same, except where signet is deliberately stricter (a statement that
// trusts any subject), which the notes say.
func TestConvertDecidesAsNotation(t *testing.T) {
	w := testworld.New(t, testworld.Options{})
	ca, other, tsa := notationtest.NewCA(t, "Acme"), notationtest.NewCA(t, "Elsewhere"), notationtest.NewTSA(t)
	doc := strings.ReplaceAll(trustPolicy, "HOST", w.Registry)
	store := fstest.MapFS{
		"truststore/x509/ca/acme/root.pem":    {Data: ca.RootPEM()},
		"truststore/x509/tsa/stamps/root.crt": {Data: tsa.Root.Raw},
	}
	res, err := notationimport.Convert([]byte(doc), store)
	if err != nil {
		t.Fatal(err)
	}
	p, err := policy.New(res.Spec)
	if err != nil {
		t.Fatalf("the converted trust file does not load: %v", err)
	}
	for _, want := range []string{"vendor: level: permissive", "vendor: override expiry: log", "third-party: level: skip", "anyone: trustedIdentities: *"} {
		if !hasNote(res.Notes, want) {
			t.Errorf("no note %q in %v", want, res.Notes)
		}
	}

	var nd trustpolicy.Document
	if err := json.Unmarshal([]byte(doc), &nd); err != nil {
		t.Fatal(err)
	}
	ns := notationtest.TrustStore{truststore.TypeCA: {"acme": {ca.Root}}, truststore.TypeTSA: {"stamps": {tsa.Root}}}
	hotfix := notationtest.Subject
	hotfix.CommonName = "hotfix"
	leaves := map[string]*notationtest.Leaf{
		"release": ca.Leaf(t), "hotfix": ca.Leaf(t, notationtest.WithSubject(hotfix)),
		"nightly":   ca.Leaf(t, notationtest.WithSubject(pkix.Name{Country: []string{"US"}, Province: []string{"WA"}, Organization: []string{"Acme"}, CommonName: "nightly"})),
		"elsewhere": other.Leaf(t),
	}
	v := verify.New()
	for _, repo := range []string{"acme/app", "vendor/db", "third/party", "anyone/app"} {
		for who, leaf := range leaves {
			t.Run(repo+"/"+who, func(t *testing.T) {
				d := w.Push(repo + ":" + who)
				notationtest.Attach(t, d, d, leaf, notationtest.SignOptions{})
				notationErr := notationtest.NotationVerify(t, &nd, ns, w.Ref(repo), d.String())
				dec := v.Verify(context.Background(), d.String(), p)
				if repo == "anyone/app" {
					if dec.Allowed {
						t.Fatalf("signet admitted under a statement that trusts any subject: %v", dec.Signatures)
					}
					return
				}
				if dec.Allowed != (notationErr == nil) {
					t.Fatalf("signet allowed=%v (%v), notation.Verify: %v", dec.Allowed, dec.Messages(), notationErr)
				}
			})
		}
	}
	unsigned := w.Push("acme/app:unsigned")
	if v.Verify(context.Background(), unsigned.String(), p).Allowed {
		t.Fatal("an unsigned image under a strict statement was admitted")
	}
	if d := v.Verify(context.Background(), w.Ref("elsewhere/app:1"), p); d.Allowed || !d.Has(verify.CodeDeniedByRule) {
		t.Fatalf("a repository no statement covers: %v", d.Messages())
	}
}

func hasNote(notes []notationimport.Note, prefix string) bool {
	for _, n := range notes {
		if strings.HasPrefix(n.String(), prefix) {
			return true
		}
	}
	return false
}

func TestConvertRefusesWhatItCannotCarry(t *testing.T) {
	store := fstest.MapFS{"truststore/x509/ca/acme/root.pem": {Data: []byte("not a certificate")}}
	cases := []struct{ name, doc, want string }{
		{"version", `{"version": "2.0", "trustPolicies": []}`, `version "2.0"`},
		{"missing store", `{"version": "1.0", "trustPolicies": [{"name": "a", "registryScopes": ["r/a"], "signatureVerification": {"level": "strict"}, "trustStores": ["ca:nope"], "trustedIdentities": ["x509.subject: C=US, ST=WA, O=A"]}]}`, `trust store ca:nope`},
		{"bad certificate", `{"version": "1.0", "trustPolicies": [{"name": "a", "registryScopes": ["r/a"], "signatureVerification": {"level": "strict"}, "trustStores": ["ca:acme"], "trustedIdentities": ["x509.subject: C=US, ST=WA, O=A"]}]}`, `root.pem`},
		{"unknown identity kind", `{"version": "1.0", "trustPolicies": [{"name": "a", "registryScopes": ["r/a"], "signatureVerification": {"level": "audit"}, "trustStores": ["ca:acme"], "trustedIdentities": ["email: a@b"]}]}`, `only x509.subject identities are supported`},
		{"unknown level", `{"version": "1.0", "trustPolicies": [{"name": "a", "registryScopes": ["r/a"], "signatureVerification": {"level": "lenient"}}]}`, `unknown verification level "lenient"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, err := notationimport.Convert([]byte(c.doc), store); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want it to name %q", err, c.want)
			}
		})
	}
}
