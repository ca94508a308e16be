package peer

import (
	"bytes"
	"crypto"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore/pkg/cryptoutils"

	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/trustroot"
)

// A peer names its Sigstore instance piece by piece (Kyverno: Fulcio
// roots, a Rekor URL and key, a CT log key, a TSA chain;
// policy-controller: a TrustRoot object); signet names it as one
// trusted_root.json per identity. The importer writes that file beside the
// trust file, taking what the peer does not name from public-good Sigstore
// (as the peer does).

// PublicRekor is public-good Sigstore's Rekor, the peers' default log.
const PublicRekor = "https://rekor.sigstore.dev"

// sigstoreParts is a peer's description of a Sigstore instance.
type sigstoreParts struct {
	fulcioPEM   string // Fulcio CA chain (roots, maybe intermediates)
	rekorURL    string
	rekorPubPEM string
	ctlogPubPEM string
	tsaChainPEM string // leaf first, root last
	ignoreTlog  bool
	ignoreSCT   bool
	// rootJSON is a whole trusted_root.json (Kyverno's cosign.trustedRoot).
	rootJSON []byte
	// own: the parts not named are absent, not public-good's (a
	// policy-controller TrustRoot).
	own bool
	// requireTSA: a signed timestamp is required (policy-controller's
	// rfc3161timestamp).
	requireTSA bool
}

func (p sigstoreParts) custom() bool {
	return len(p.rootJSON) > 0 || p.fulcioPEM != "" || p.rekorPubPEM != "" || p.ctlogPubPEM != "" || p.tsaChainPEM != "" ||
		p.rekorURL != "" && p.rekorURL != PublicRekor && !p.ignoreTlog
}

// untimed: keyless verification with the log ignored and no timestamp
// authority named. The peers (cosign underneath) then check the
// short-lived certificate against the time of admission; signet needs a
// trusted time and refuses the signature (untimedKeyless).
func (p sigstoreParts) untimed() bool {
	return p.ignoreTlog && p.tsaChainPEM == "" && !p.requireTSA && len(p.rootJSON) == 0
}

const untimedKeyless = "the transparency log is ignored and no timestamp authority is named (ctlog.tsaCertChain, " +
	"rfc3161timestamp): the peer checks the short-lived certificate against the time of admission, so it admits " +
	"a signature only in the ~10 minutes its certificate is valid and refuses it afterwards; signet needs a trusted " +
	"time (a log entry or an RFC 3161 timestamp under the identity's root) and refuses such signatures at once: " +
	"name the TSA that timestamps them (cosign sign --timestamp-server-url) or keep the log"

// sigstore is the identity's sigstore section for p (nil: the policy's
// default, public-good with every proof required), writing its trusted
// root as roots/<name>.json when p names its own instance.
func (c *converter) sigstore(name string, p sigstoreParts) (*policy.SigstoreSpec, error) {
	var s policy.SigstoreSpec
	if p.ignoreTlog {
		s.TransparencyLog = policy.Optional
	}
	if p.ignoreSCT {
		s.CertificateTransparency = policy.Optional
	}
	if p.requireTSA {
		s.SignedTimestamps = policy.Required
	}
	if p.custom() {
		data, err := trustedRootJSON(p)
		if err != nil {
			return nil, err
		}
		file := c.rootFile(name, data)
		s.TrustedRoot = file
	}
	if s == (policy.SigstoreSpec{}) {
		return nil, nil
	}
	return &s, nil
}

// rootFile stores data as roots/<name>.json (the same content once) and
// returns its path relative to the trust file.
func (c *converter) rootFile(name string, data []byte) string {
	for p, d := range c.files {
		if string(d) == string(data) {
			return p
		}
	}
	base := strings.ReplaceAll(sanitizeName(name), "/", "-")
	p := path.Join("roots", base+".json")
	for i := 2; c.files[p] != nil; i++ {
		p = path.Join("roots", fmt.Sprintf("%s-%d.json", base, i))
	}
	c.files[p] = data
	return p
}

// trustedRootJSON builds the trusted root p describes, with public-good's
// parts where p names none.
func trustedRootJSON(p sigstoreParts) ([]byte, error) {
	if len(p.rootJSON) > 0 {
		if _, err := root.NewTrustedRootFromJSON(p.rootJSON); err != nil {
			return nil, fmt.Errorf("trusted root: %w", err)
		}
		return p.rootJSON, nil
	}
	pg, err := trustroot.Embedded()
	if err != nil {
		return nil, err
	}
	m := pg.Material
	cas, ctlogs, tsas, tlogs := m.FulcioCertificateAuthorities(), m.CTLogs(), m.TimestampingAuthorities(), m.RekorLogs()
	if p.own {
		cas, ctlogs, tsas, tlogs = nil, map[string]*root.TransparencyLog{}, nil, map[string]*root.TransparencyLog{}
	}
	if p.fulcioPEM != "" {
		chain, err := cryptoutils.UnmarshalCertificatesFromPEM([]byte(p.fulcioPEM))
		if err != nil || len(chain) == 0 {
			return nil, fmt.Errorf("the Fulcio roots are not PEM certificates (%v)", err)
		}
		last := chain[len(chain)-1]
		cas = []root.CertificateAuthority{&root.FulcioCertificateAuthority{Root: last, Intermediates: chain[:len(chain)-1], ValidityPeriodStart: last.NotBefore}}
	}
	if p.rekorPubPEM != "" {
		tl, err := logOf(p.rekorURL, p.rekorPubPEM)
		if err != nil {
			return nil, fmt.Errorf("the Rekor public key: %w", err)
		}
		tlogs = map[string]*root.TransparencyLog{hex.EncodeToString(tl.ID): tl}
	} else if p.rekorURL != "" && p.rekorURL != PublicRekor && !p.ignoreTlog {
		return nil, fmt.Errorf("the Rekor log %s has no public key here: signet verifies log entries offline, with the log's key (rekor.pubkey)", p.rekorURL)
	}
	if p.ctlogPubPEM != "" {
		tl, err := logOf("", p.ctlogPubPEM)
		if err != nil {
			return nil, fmt.Errorf("CT log public key: %w", err)
		}
		ctlogs = map[string]*root.TransparencyLog{hex.EncodeToString(tl.ID): tl}
	}
	if p.tsaChainPEM != "" {
		chain, err := cryptoutils.UnmarshalCertificatesFromPEM([]byte(p.tsaChainPEM))
		if err != nil || len(chain) == 0 {
			return nil, fmt.Errorf("TSA certificate chain: not PEM certificates (%v)", err)
		}
		last := chain[len(chain)-1]
		tsa := &root.SigstoreTimestampingAuthority{Root: last, ValidityPeriodStart: last.NotBefore}
		if len(chain) > 1 {
			tsa.Leaf, tsa.Intermediates = chain[0], chain[1:len(chain)-1]
		}
		tsas = []root.TimestampingAuthority{tsa}
	}
	tr, err := root.NewTrustedRoot(root.TrustedRootMediaType01, cas, ctlogs, tsas, tlogs)
	if err != nil {
		return nil, err
	}
	data, err := tr.MarshalJSON()
	if err != nil {
		return nil, err
	}
	// protojson varies its whitespace from run to run on purpose: indent
	// it, so one source writes the same file every time (reviewable diffs,
	// one policy hash).
	var out bytes.Buffer
	if err := json.Indent(&out, data, "", "  "); err != nil {
		return nil, err
	}
	return append(out.Bytes(), '\n'), nil
}

// logOf is a transparency log (Rekor or CT) by its public key: its log ID
// is the SHA-256 of the key's DER, as both kinds of log define it.
func logOf(url, pubPEM string) (*root.TransparencyLog, error) {
	pub, err := cryptoutils.UnmarshalPEMToPublicKey([]byte(pubPEM))
	if err != nil {
		return nil, err
	}
	der, err := cryptoutils.MarshalPublicKeyToDER(pub)
	if err != nil {
		return nil, err
	}
	id := sha256.Sum256(der)
	return &root.TransparencyLog{BaseURL: url, ID: id[:], PublicKey: pub, HashFunc: crypto.SHA256, SignatureHashFunc: crypto.SHA256,
		ValidityPeriodStart: time.Unix(0, 0).UTC()}, nil
}
