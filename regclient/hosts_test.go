package regclient

import "testing"

// TestHostPatternMatchesWholeHostsOnly: a pattern names hosts as the
// runtime dials them; a look-alike, a longer name, another port or a
// deeper subdomain never matches, however it is spelled.
func TestHostPatternMatchesWholeHostsOnly(t *testing.T) {
	for _, c := range []struct {
		pattern string
		yes, no []string
	}{
		{"acme.azurecr.io",
			[]string{"acme.azurecr.io", "ACME.AzureCR.io", "acme.azurecr.io.", "acme.azurecr.io:443", "acme.azurecr.io:0443"},
			[]string{"acme.azurecr.io.evil.example", "evilacme.azurecr.io", "x.acme.azurecr.io", "acme.azurecr.io:8443", "azurecr.io", "acme.azurecr.io:0"}},
		{"*.azurecr.io",
			[]string{"acme.azurecr.io", "other.azurecr.io:443", "Acme.AzureCR.IO."},
			[]string{"azurecr.io", "a.b.azurecr.io", "acme.azurecr.io.evil.example", "acme.azurecr.io:5000", "acme-azurecr.io", "[::1]", ".azurecr.io"}},
		{"registry.corp:5000",
			[]string{"registry.corp:5000", "registry.corp:05000"},
			[]string{"registry.corp", "registry.corp:50000", "registry.corp:500"}},
		{"*.dkr.ecr.us-east-1.amazonaws.com",
			[]string{"123456789012.dkr.ecr.us-east-1.amazonaws.com"},
			[]string{"123456789012.dkr.ecr.us-east-1.amazonaws.com.evil.example", "dkr.ecr.us-east-1.amazonaws.com"}},
		{"docker.io", []string{"index.docker.io", "registry-1.docker.io:0443"}, []string{"docker.io.evil.example"}},
	} {
		p, err := ParseHostPattern(c.pattern)
		if err != nil {
			t.Fatalf("%s: %v", c.pattern, err)
		}
		for _, h := range c.yes {
			if !p.Match(h) {
				t.Errorf("%s does not match %s", c.pattern, h)
			}
		}
		for _, h := range c.no {
			if p.Match(h) {
				t.Errorf("%s matches %s", c.pattern, h)
			}
		}
	}
}

func TestParseHostPatternRefusesWhatIsNotAHost(t *testing.T) {
	for _, s := range []string{"", "*", "*.", "https://acme.azurecr.io", "acme.azurecr.io/team", "acme.*.io", "*acme.azurecr.io",
		"**.azurecr.io", "acme.azurecr.io:99999", "127.1", "user@acme.azurecr.io"} {
		if p, err := ParseHostPattern(s); err == nil {
			t.Errorf("ParseHostPattern(%q) = %v, want an error", s, p)
		}
	}
}
