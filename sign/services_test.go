package sign

import (
	"reflect"
	"testing"
	"time"

	prototrustroot "github.com/sigstore/protobuf-specs/gen/pb-go/trustroot/v1"
	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/signet-dev/signet/trustroot"
)

// signingConfig is a signing_config.json naming a private Fulcio, two
// Rekor v2 logs and two TSAs.
func signingConfig(t *testing.T, withRekor bool) *root.SigningConfig {
	t.Helper()
	svc := func(url string, v uint32) root.Service {
		return root.Service{URL: url, MajorAPIVersion: v, ValidityPeriodStart: time.Now().Add(-time.Hour)}
	}
	var logs []root.Service
	if withRekor {
		logs = []root.Service{svc("https://rekor.acme.test", 2), svc("https://rekor2.acme.test", 2)}
	}
	any := root.ServiceConfiguration{Selector: prototrustroot.ServiceSelector_ANY}
	sc, err := root.NewSigningConfig(root.SigningConfigMediaType02, []root.Service{svc("https://fulcio.acme.test", 1)}, nil,
		logs, any, []root.Service{svc("https://tsa.acme.test/api/v1/timestamp", 1), svc("https://tsa2.acme.test/timestamp", 1)}, any)
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

// TestChooseServicesPrecedence: each service is chosen on its own, flags
// over the signing config over public-good, and --tlog-upload=false
// uploads to no log at all.
func TestChooseServicesPrecedence(t *testing.T) {
	publicRekor := []Rekor{{URL: trustroot.PublicGoodRekor, Version: 1}}
	fileTSAs := []string{"https://tsa.acme.test/api/v1/timestamp", "https://tsa2.acme.test/timestamp"}
	for _, c := range []struct {
		name   string
		flags  Services
		file   bool // a signing config is given
		noLog  bool // the file has no Rekor
		noTlog bool
		want   Services
	}{
		{name: "nothing named signs with public-good Fulcio and Rekor v1, no TSA",
			want: Services{FulcioURL: trustroot.PublicGoodFulcio, Rekor: publicRekor}},
		{name: "a signing config names Fulcio, its first Rekor with its API version and every TSA", file: true,
			want: Services{FulcioURL: "https://fulcio.acme.test", Rekor: []Rekor{{URL: "https://rekor.acme.test", Version: 2}}, TSAURLs: fileTSAs}},
		{name: "--fulcio-url overrides the signing config's Fulcio and nothing else", file: true,
			flags: Services{FulcioURL: "https://fulcio.flag.test"},
			want:  Services{FulcioURL: "https://fulcio.flag.test", Rekor: []Rekor{{URL: "https://rekor.acme.test", Version: 2}}, TSAURLs: fileTSAs}},
		{name: "--rekor-url overrides the signing config's log", file: true,
			flags: Services{Rekor: []Rekor{{URL: "https://rekor.flag.test", Version: 1}}},
			want:  Services{FulcioURL: "https://fulcio.acme.test", Rekor: []Rekor{{URL: "https://rekor.flag.test", Version: 1}}, TSAURLs: fileTSAs}},
		{name: "--timestamp-url replaces the signing config's TSAs", file: true,
			flags: Services{TSAURLs: []string{"https://tsa.flag.test"}},
			want:  Services{FulcioURL: "https://fulcio.acme.test", Rekor: []Rekor{{URL: "https://rekor.acme.test", Version: 2}}, TSAURLs: []string{"https://tsa.flag.test"}}},
		{name: "a signing config without a log keeps the public-good Rekor", file: true, noLog: true,
			want: Services{FulcioURL: "https://fulcio.acme.test", Rekor: publicRekor, TSAURLs: fileTSAs}},
		{name: "flags alone override public-good",
			flags: Services{FulcioURL: "https://fulcio.flag.test", TSAURLs: []string{"https://tsa.flag.test"}},
			want:  Services{FulcioURL: "https://fulcio.flag.test", Rekor: publicRekor, TSAURLs: []string{"https://tsa.flag.test"}}},
		{name: "--tlog-upload=false uploads to no log, not even a flag's or the signing config's", file: true, noTlog: true,
			flags: Services{Rekor: []Rekor{{URL: "https://rekor.flag.test", Version: 1}}},
			want:  Services{FulcioURL: "https://fulcio.acme.test", TSAURLs: fileTSAs}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var sc *root.SigningConfig
			if c.file {
				sc = signingConfig(t, !c.noLog)
			}
			if got := ChooseServices(c.flags, sc, !c.noTlog); !reflect.DeepEqual(got, c.want) {
				t.Fatalf("got  %+v\nwant %+v", got, c.want)
			}
		})
	}
}

// TestConfigureGivesAKeyNoFulcio: a key signs without a certificate, so
// only a keyless Config is given the Fulcio URL; both get the logs and TSAs.
func TestConfigureGivesAKeyNoFulcio(t *testing.T) {
	s := Services{FulcioURL: "https://fulcio.acme.test", Rekor: []Rekor{{URL: "https://rekor.acme.test", Version: 2}}, TSAURLs: []string{"https://tsa.acme.test"}}
	var keyless, key Config
	key.Key = &Keypair{}
	s.Configure(&keyless)
	s.Configure(&key)
	if keyless.FulcioURL != s.FulcioURL || key.FulcioURL != "" {
		t.Fatalf("Fulcio: keyless %q, key %q", keyless.FulcioURL, key.FulcioURL)
	}
	for _, cfg := range []Config{keyless, key} {
		if !reflect.DeepEqual(cfg.Rekor, s.Rekor) || !reflect.DeepEqual(cfg.TSAURLs, s.TSAURLs) {
			t.Fatalf("logs and TSAs not configured: %+v", cfg)
		}
	}
}
