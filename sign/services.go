package sign

import (
	"cmp"

	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/signet-dev/signet/trustroot"
)

// Services are the Sigstore services a run signs with: the Fulcio that
// certifies a keyless signer, the transparency logs every signature goes
// to and the timestamp authorities. A field left empty is not chosen yet.
//
// The tags are sign's flags (cliapp.Flags); --rekor-url names a v1 log.
type Services struct {
	FulcioURL string `flag:"fulcio-url" env:"SIGNET_FULCIO_URL" usage:"Fulcio URL (default public-good)"`
	Rekor     []Rekor
	TSAURLs   []string `flag:"timestamp-url" env:"SIGNET_TIMESTAMP_URL" usage:"RFC 3161 timestamp authority URL (repeatable)"`
}

// PublicGoodServices are Sigstore's public-good Fulcio and Rekor (v1: its
// entries carry their own signed time, so no timestamp authority is needed).
func PublicGoodServices() Services {
	return Services{FulcioURL: trustroot.PublicGoodFulcio, Rekor: []Rekor{{URL: trustroot.PublicGoodRekor, Version: 1}}}
}

// SigningConfigServices are what a Sigstore signing_config.json names: its
// first Fulcio, its first Rekor log (with that log's API version) and every
// timestamp authority.
func SigningConfigServices(sc *root.SigningConfig) Services {
	var s Services
	if ca := sc.FulcioCertificateAuthorityURLs(); len(ca) > 0 {
		s.FulcioURL = ca[0].URL
	}
	if logs := sc.RekorLogURLs(); len(logs) > 0 {
		s.Rekor = []Rekor{{URL: logs[0].URL, Version: logs[0].MajorAPIVersion}}
	}
	for _, tsa := range sc.TimestampAuthorityURLs() {
		s.TSAURLs = append(s.TSAURLs, tsa.URL)
	}
	return s
}

// ChooseServices decides a run's services, each on its own, most specific
// first: what flags name (a Rekor named by URL alone speaks v1), then what
// the signing config sc names (nil when there is none), then public-good.
// Without tlog no signature goes to a transparency log, whoever names one.
func ChooseServices(flags Services, sc *root.SigningConfig, tlog bool) Services {
	s := flags
	if sc != nil {
		s = s.or(SigningConfigServices(sc))
	}
	s = s.or(PublicGoodServices())
	if !tlog {
		s.Rekor = nil
	}
	return s
}

// or is s with what it leaves empty taken from fallback.
func (s Services) or(fallback Services) Services {
	s.FulcioURL = cmp.Or(s.FulcioURL, fallback.FulcioURL)
	if len(s.Rekor) == 0 {
		s.Rekor = fallback.Rekor
	}
	if len(s.TSAURLs) == 0 {
		s.TSAURLs = fallback.TSAURLs
	}
	return s
}

// Configure makes cfg sign with s. A key signs without Fulcio, so a
// keypair's Config gets no Fulcio URL.
func (s Services) Configure(cfg *Config) {
	if cfg.Key == nil {
		cfg.FulcioURL = s.FulcioURL
	}
	cfg.Rekor, cfg.TSAURLs = s.Rekor, s.TSAURLs
}
