package stack

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	prototrustroot "github.com/sigstore/protobuf-specs/gen/pb-go/trustroot/v1"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
)

// TrustedRoot builds the Sigstore trusted root for this stack: Fulcio's CA, the
// TSA's chain and Rekor v2's key when running. There are no ctlogs: our Fulcio runs
// without a CT log.
func (s *Stack) TrustedRoot() (*root.TrustedRoot, error) {
	var cas []root.CertificateAuthority
	var tsas []root.TimestampingAuthority
	tlogs := map[string]*root.TransparencyLog{}
	if s.Fulcio != nil {
		chain, err := cryptoutils.UnmarshalCertificatesFromPEM(s.Fulcio.ChainPEM)
		if err != nil || len(chain) == 0 {
			return nil, fmt.Errorf("fulcio chain: %v", err)
		}
		rootCert := chain[len(chain)-1]
		cas = append(cas, &root.FulcioCertificateAuthority{
			Root: rootCert, Intermediates: chain[:len(chain)-1],
			ValidityPeriodStart: rootCert.NotBefore, URI: s.Fulcio.URL,
		})
	}
	if s.TSA != nil {
		chain, err := cryptoutils.UnmarshalCertificatesFromPEM(s.TSA.ChainPEM)
		if err != nil || len(chain) < 2 {
			return nil, fmt.Errorf("tsa chain (want leaf..root): %v", err)
		}
		rootCert := chain[len(chain)-1]
		tsas = append(tsas, &root.SigstoreTimestampingAuthority{
			Leaf: chain[0], Intermediates: chain[1 : len(chain)-1], Root: rootCert,
			ValidityPeriodStart: rootCert.NotBefore, URI: s.TSA.URL,
		})
	}
	if s.Rekor != nil {
		tl := s.Rekor.transparencyLog()
		tlogs[fmt.Sprintf("%x", tl.ID)] = tl
	}
	return root.NewTrustedRoot(root.TrustedRootMediaType01, cas, nil, tsas, tlogs)
}

// SigningConfig is the v0.2 signing config cosign v3 uses to find our services.
func (s *Stack) SigningConfig() (*root.SigningConfig, error) {
	start := time.Now().Add(-time.Hour)
	svc := func(url string, v uint32) []root.Service {
		return []root.Service{{URL: url, MajorAPIVersion: v, ValidityPeriodStart: start, Operator: "signet-test"}}
	}
	var ca, oidc, rekor, tsa []root.Service
	if s.Fulcio != nil {
		ca = svc(s.Fulcio.URL, 1)
	}
	if s.OIDC != nil {
		oidc = svc(s.OIDC.GitHubIssuer, 1)
	}
	if s.Rekor != nil {
		rekor = svc(s.Rekor.URL, 2)
	}
	if s.TSA != nil {
		tsa = svc(s.TSA.TimestampURL(), 1)
	}
	return root.NewSigningConfig(root.SigningConfigMediaType02, ca, oidc,
		rekor, root.ServiceConfiguration{Selector: prototrustroot.ServiceSelector_ANY},
		tsa, root.ServiceConfiguration{Selector: prototrustroot.ServiceSelector_ANY})
}

func (s *Stack) writeTrustMaterial() error {
	tr, err := s.TrustedRoot()
	if err != nil {
		return err
	}
	b, err := tr.MarshalJSON()
	if err != nil {
		return err
	}
	s.TrustedRootPath = filepath.Join(s.Dir, "trusted_root.json")
	if err := os.WriteFile(s.TrustedRootPath, b, 0o644); err != nil {
		return err
	}
	// Round-trip: what we wrote must load the way clients load it.
	if _, err := root.NewTrustedRootFromPath(s.TrustedRootPath); err != nil {
		return fmt.Errorf("reloading %s: %w", s.TrustedRootPath, err)
	}
	sc, err := s.SigningConfig()
	if err != nil {
		return err
	}
	if b, err = sc.MarshalJSON(); err != nil {
		return err
	}
	s.SigningConfigPath = filepath.Join(s.Dir, "signing_config.json")
	return os.WriteFile(s.SigningConfigPath, b, 0o644)
}
