package policy

import (
	"errors"
	"fmt"
	"strings"
)

// AdHoc is a policy given on the command line with cosign's verify flags
// instead of a trust file: one identity that must sign every image. It
// compiles to the trust file those flags mean (Spec), through New, so it
// is held to the same rules: an issuer-wide identity, an unanchored regexp
// or an http issuer is refused as in a trust file, named by its flag.
//
// cosign's semantics: --key alone, or --certificate-identity (exact SAN)
// or --certificate-identity-regexp with --certificate-oidc-issuer; a log
// entry and, for certificates, an SCT are required unless the matching
// --insecure-ignore-* flag is set. Where cosign is looser, signet refuses
// rather than accepts: a regexp must match the whole SAN (cosign matches
// it anywhere), and must not admit every repository of the issuer.
//
// The tags are the flags of `sign verify` (cliapp.Flags); they have no
// SIGNET_ variable: a CI job's SIGNET_KEY is a signing key, never one to
// verify with.
type AdHoc struct {
	// Key is --key: a public key (PEM, a file, or a KMS URI).
	Key *KeySpec
	// CertificateIdentity, CertificateIdentityRegexp and
	// CertificateOIDCIssuer are cosign's keyless flags.
	CertificateIdentity       string `flag:"certificate-identity" usage:"instead of a trust file: the exact certificate SAN every image must be signed by (with --certificate-oidc-issuer)"`
	CertificateIdentityRegexp string `flag:"certificate-identity-regexp" usage:"like --certificate-identity, an anchored regexp (^...$) over the whole SAN"`
	CertificateOIDCIssuer     string `flag:"certificate-oidc-issuer" usage:"the OIDC issuer of --certificate-identity[-regexp]"`
	// TrustedRoot is --trusted-root, a trusted_root.json; "" is public-good.
	TrustedRoot string `flag:"trusted-root" usage:"with --key or --certificate-identity: a private Sigstore's trusted_root.json (default public-good)"`
	// IgnoreTlog (--insecure-ignore-tlog) does not require a log entry;
	// IgnoreSCT (--insecure-ignore-sct) does not require a certificate's SCT;
	// UseSignedTimestamps (--use-signed-timestamps) requires an RFC 3161
	// timestamp.
	IgnoreTlog          bool `flag:"insecure-ignore-tlog" usage:"with --key or --certificate-identity: do not require a transparency log entry"`
	IgnoreSCT           bool `flag:"insecure-ignore-sct" usage:"with --certificate-identity: do not require the certificate's SCT"`
	UseSignedTimestamps bool `flag:"use-signed-timestamps" usage:"with --key or --certificate-identity: require an RFC 3161 timestamp"`
}

// adHocFlags names the trust-file field each flag became, for errors.
var adHocFlags = []struct{ field, flag string }{
	{"identities[0].keyless.subjectRegExp", "--certificate-identity-regexp"},
	{"identities[0].keyless.subject", "--certificate-identity"},
	{"identities[0].keyless.issuer", "--certificate-oidc-issuer"},
	{"identities[0].keyless", "--certificate-identity"},
	{"identities[0].key", "--key"},
	{"sigstore.trustedRoot", "--trusted-root"},
}

// Set reports whether any identity flag was given.
func (a AdHoc) Set() bool {
	return a.Key != nil || a.CertificateIdentity != "" || a.CertificateIdentityRegexp != "" || a.CertificateOIDCIssuer != ""
}

// Spec is the trust file the flags mean.
func (a AdHoc) Spec() (Spec, error) {
	keyless := a.CertificateIdentity != "" || a.CertificateIdentityRegexp != "" || a.CertificateOIDCIssuer != ""
	switch {
	case a.Key != nil && keyless:
		return Spec{}, errors.New("--key and the --certificate-* flags exclude each other: a signature is made with a key or with a certificate")
	case a.Key == nil && !keyless:
		return Spec{}, errors.New("needs --key, or --certificate-identity (or --certificate-identity-regexp) with --certificate-oidc-issuer")
	case keyless && a.CertificateOIDCIssuer == "":
		return Spec{}, errors.New("--certificate-oidc-issuer is required with --certificate-identity or --certificate-identity-regexp (as in cosign)")
	case keyless && a.CertificateIdentity == "" && a.CertificateIdentityRegexp == "":
		return Spec{}, errors.New("--certificate-identity or --certificate-identity-regexp is required with --certificate-oidc-issuer (as in cosign)")
	}
	tlog := Required
	if a.IgnoreTlog {
		tlog = Optional
	}
	s := Spec{Sigstore: &SigstoreSpec{TrustedRoot: a.TrustedRoot, TransparencyLog: tlog,
		CertificateTransparency: Required, SignedTimestamps: Optional}}
	if a.IgnoreSCT {
		s.Sigstore.CertificateTransparency = Optional
	}
	if a.UseSignedTimestamps {
		s.Sigstore.SignedTimestamps = Required
	}
	id := IdentitySpec{Name: "certificate-identity"}
	if a.Key != nil {
		k := *a.Key
		k.TransparencyLog = tlog
		id = IdentitySpec{Name: "key", Key: &k}
	} else {
		id.Keyless = &KeylessSpec{Issuer: a.CertificateOIDCIssuer, Subject: a.CertificateIdentity, SubjectRegExp: a.CertificateIdentityRegexp}
	}
	s.Identities = []IdentitySpec{id}
	s.Images = []RuleSpec{{Name: "command-line", Match: []string{"**"}, SignedBy: []string{id.Name}}}
	return s, nil
}

// Load is the policy a verification is asked for: the trust file at path
// when no identity flag is set, else the policy the flags mean. Either
// excludes the other: an explicitly given trust file (pathGiven) beside
// identity flags, or a flag that only qualifies an identity without one,
// is an error, never silently ignored.
func (a AdHoc) Load(path string, pathGiven bool) (*Policy, error) {
	if a.Set() {
		if pathGiven {
			return nil, errors.New("--policy and --key/--certificate-identity exclude each other: give a trust file or cosign's flags")
		}
		return a.Policy()
	}
	for _, f := range []struct {
		set  bool
		flag string
	}{{a.TrustedRoot != "", "trusted-root"}, {a.IgnoreTlog, "insecure-ignore-tlog"}, {a.IgnoreSCT, "insecure-ignore-sct"}, {a.UseSignedTimestamps, "use-signed-timestamps"}} {
		if f.set {
			return nil, fmt.Errorf("--%s goes with --key or --certificate-identity; a trust file says it in its sigstore section", f.flag)
		}
	}
	return LoadFile(path)
}

// Policy compiles the flags, naming each problem by its flag. opts are
// New's (WithBaseDir for a relative --key or --trusted-root).
func (a AdHoc) Policy(opts ...Option) (*Policy, error) {
	s, err := a.Spec()
	if err != nil {
		return nil, err
	}
	p, err := New(s, append([]Option{WithSource("command-line flags")}, opts...)...)
	if le := (*LoadError)(nil); errors.As(err, &le) {
		msgs := make([]string, len(le.Errors))
		for i, fe := range le.Errors {
			msgs[i] = flagError(fe)
		}
		return nil, errors.New(strings.Join(msgs, "\n"))
	}
	return p, err
}

func flagError(fe FieldError) string {
	for _, f := range adHocFlags {
		if fe.Field == f.field || strings.HasPrefix(fe.Field, f.field+".") {
			msg := fe.Msg
			if strings.HasSuffix(msg, "must be anchored with ^ and $") {
				msg += " (cosign matches it anywhere in the SAN; signet matches the whole SAN)"
			}
			return fmt.Sprintf("%s: %s", f.flag, msg)
		}
	}
	return fe.Error()
}
