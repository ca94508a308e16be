package peer

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/notaryproject/notation-go/verifier/trustpolicy"
	"github.com/notaryproject/notation-go/verifier/truststore"

	"github.com/signet-dev/signet/test/notationtest"
	"github.com/signet-dev/signet/test/testworld"
)

// notationStatement is a notation trust policy with one statement of
// level LEVEL over HOST/acme/app, trusting IDENTITY of the ca:acme store.
const notationStatement = `{
  "version": "1.0",
  "trustPolicies": [
    {
      "name": "acme",
      "registryScopes": ["HOST/acme/app"],
      "signatureVerification": {"level": "LEVEL"},
      "trustStores": ["ca:acme"],
      "trustedIdentities": ["IDENTITY"]
    }
  ]
}`

func notationFile(t *testing.T, level, identity, host string) File {
	t.Helper()
	doc := strings.NewReplacer("LEVEL", level, "IDENTITY", identity, "HOST", host).Replace(notationStatement)
	ca := notationtest.NewCA(t, "Acme")
	return File{Name: "trustpolicy.json", Data: []byte(doc),
		Dir: fstest.MapFS{"truststore/x509/ca/acme/root.pem": {Data: ca.RootPEM()}}}
}

// TestImportNotationClassesEveryNote: a notation trust policy is imported
// with its trust store, each setting that changes meaning is a difference
// at its statement, and a weaker one refuses the import unless allowed.
func TestImportNotationClassesEveryNote(t *testing.T) {
	const subject = "x509.subject: C=US, ST=WA, O=Acme, CN=release"
	cases := []struct {
		level, identity string
		allowWeaker     bool
		class           Class // of the one difference; "" for none
		refused         bool
	}{
		{level: "strict", identity: subject},
		{level: "permissive", identity: subject, class: Stricter},
		{level: "skip", identity: subject, class: Equivalent},
		{level: "strict", identity: "*", class: Stricter},
		{level: "audit", identity: subject, class: Weaker, refused: true},
		{level: "audit", identity: subject, class: Weaker, allowWeaker: true},
	}
	for _, c := range cases {
		t.Run(c.level+"/"+c.identity, func(t *testing.T) {
			res, err := Import([]File{notationFile(t, c.level, c.identity, "registry.example")}, Options{AllowWeaker: c.allowWeaker})
			if err != nil {
				t.Fatal(err)
			}
			var classes []Class
			for _, d := range res.Report.Differences {
				classes = append(classes, d.Class)
				if d.At.Line != 5 || d.At.Column != 7 || d.Source != "statement/acme" {
					t.Errorf("difference at %s (%s), want trustpolicy.json:5:7, the statement's name", d.At, d.Source)
				}
			}
			if want := []Class{c.class}; c.class == "" && len(classes) != 0 || c.class != "" && !slices.Equal(classes, want) {
				t.Fatalf("differences %v, want %v:\n%v", classes, c.class, res.Report.Differences)
			}
			if res.Report.Refused != c.refused {
				t.Fatalf("refused = %v, want %v", res.Report.Refused, c.refused)
			}
			dir := t.TempDir()
			if err := res.Write(dir); err != nil {
				t.Fatal(err)
			}
			_, err = os.Stat(filepath.Join(dir, TrustFileName))
			if written := err == nil; written == c.refused {
				t.Fatalf("trust file written = %v for a refused = %v import", written, c.refused)
			}
		})
	}
}

// TestNotationAuditRefusesAnUnsignedImage is why level: audit is weaker:
// notation itself refuses an unsigned image under it, which signet's audit
// mode admits.
func TestNotationAuditRefusesAnUnsignedImage(t *testing.T) {
	w := testworld.New(t, testworld.Options{})
	f := notationFile(t, "audit", "x509.subject: C=US, ST=WA, O=Acme, CN=release", w.Registry)
	var doc trustpolicy.Document
	if err := json.Unmarshal(f.Data, &doc); err != nil {
		t.Fatal(err)
	}
	d := w.Push("acme/app:unsigned")
	store := notationtest.TrustStore{truststore.TypeCA: {"acme": {notationtest.NewCA(t, "Acme").Root}}}
	if err := notationtest.NotationVerify(t, &doc, store, w.Ref("acme/app"), d.String()); err == nil {
		t.Fatal("notation admitted an unsigned image at level audit: the import need not call audit weaker")
	}
	res, err := Import([]File{f}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Report.Refused || res.Report.Count(Weaker) != 1 {
		t.Fatalf("the audit statement was not refused as weaker: %v", res.Report.Differences)
	}
}

// TestImportNotationErrors: a notation trust policy comes alone, with its
// trust store, and what notationimport refuses is an error naming the file.
func TestImportNotationErrors(t *testing.T) {
	f := notationFile(t, "strict", "x509.subject: CN=release", "registry.example")
	noStore := f
	noStore.Dir = nil
	emptyStore := f
	emptyStore.Dir = fstest.MapFS{}
	cases := map[string]struct {
		files []File
		want  string
	}{
		"with another file":   {[]File{f, {Name: "cpol.yaml", Data: []byte("kind: ClusterPolicy")}}, "imported on its own"},
		"without a store":     {[]File{noStore}, "needs the trust store beside it"},
		"with an empty store": {[]File{emptyStore}, "trustpolicy.json:5:7: trustPolicies[name=acme]: trust policy statement \"acme\": trust store ca:acme"},
		"with a value of the wrong type": {[]File{{Name: "trustpolicy.json", Data: []byte("{\n  \"version\": \"1.0\",\n  \"trustPolicies\": 5\n}"), Dir: fstest.MapFS{}}},
			"trustpolicy.json:3:"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := Import(c.files, Options{})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want one saying %q", err, c.want)
			}
		})
	}
}
