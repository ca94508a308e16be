package cliapp

import (
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/urfave/cli/v2"
)

type lease struct {
	Name string `flag:"lease-name" env:"T_LEASE_NAME" usage:"lease"`
}

type testConfig struct {
	Policy   string        `flag:"policy" alias:"p" env:"T_POLICY" usage:"trust file"`
	Cert     string        `flag:"tls-cert" env:"T_TLS_CERT" usage:"certificate" required:"true"`
	Offline  bool          `flag:"offline" env:"T_OFFLINE" usage:"offline"`
	Scan     bool          `flag:"scan" env:"T_SCAN" usage:"scan"`
	Size     int           `flag:"size" env:"T_SIZE" usage:"size"`
	TTL      time.Duration `flag:"ttl" env:"T_TTL" usage:"ttl"`
	Allow    []string      `flag:"allow" env:"T_ALLOW" usage:"namespaces"`
	Lease    lease
	Untagged string
}

func defaults() testConfig {
	return testConfig{Policy: "trust.yaml", Scan: true, Size: 10, TTL: time.Minute, Allow: []string{"kube-system"}, Untagged: "kept"}
}

// parse runs a command over Flags(&cfg) with args and env and returns the
// config its action saw.
func parse(t *testing.T, env map[string]string, args ...string) (testConfig, error) {
	t.Helper()
	for k, v := range env {
		t.Setenv(k, v)
	}
	cfg, got := defaults(), testConfig{}
	app := &cli.App{Name: "t", Writer: io.Discard, ErrWriter: io.Discard, ExitErrHandler: func(*cli.Context, error) {},
		Commands: []*cli.Command{{Name: "run", Flags: Flags(&cfg), Action: func(*cli.Context) error { got = cfg; return nil }}}}
	err := app.Run(append([]string{"t", "run"}, args...))
	return got, err
}

func TestFlagsFillTheConfig(t *testing.T) {
	cert := []string{"--tls-cert", "c.pem"}
	with := func(f func(*testConfig)) testConfig { c := defaults(); c.Cert = "c.pem"; f(&c); return c }
	cases := []struct {
		name string
		env  map[string]string
		args []string
		want testConfig
	}{
		{"unset flags keep the config's defaults", nil, cert, with(func(*testConfig) {})},
		{"flags and aliases set their fields", nil, append(cert, "-p", "x.yaml", "--offline", "--scan=false", "--size", "3", "--ttl", "2s", "--allow", "a", "--allow", "b", "--lease-name", "l"),
			with(func(c *testConfig) {
				c.Policy, c.Offline, c.Scan, c.Size, c.TTL, c.Allow, c.Lease.Name = "x.yaml", true, false, 3, 2*time.Second, []string{"a", "b"}, "l"
			})},
		{"environment variables set their fields", map[string]string{"T_POLICY": "e.yaml", "T_SIZE": "7", "T_ALLOW": "x,y", "T_LEASE_NAME": "n", "T_TLS_CERT": "c.pem"}, nil,
			with(func(c *testConfig) { c.Policy, c.Size, c.Allow, c.Lease.Name = "e.yaml", 7, []string{"x", "y"}, "n" })},
		{"a flag wins over its environment variable", map[string]string{"T_POLICY": "e.yaml"}, append(cert, "--policy", "f.yaml"),
			with(func(c *testConfig) { c.Policy = "f.yaml" })},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := parse(t, c.env, c.args...)
			if err != nil || !reflect.DeepEqual(got, c.want) {
				t.Fatalf("got %+v, %v\nwant %+v", got, err, c.want)
			}
		})
	}
}

func TestFlagsDeclareOnce(t *testing.T) {
	cfg := defaults()
	var help strings.Builder
	for _, f := range Flags(&cfg) {
		help.WriteString(strings.ReplaceAll(f.String(), "\t", "  ") + "\n")
	}
	for _, want := range []string{
		`--policy value, -p value  trust file (default: "trust.yaml") [$T_POLICY]`,
		`--tls-cert value  certificate [$T_TLS_CERT]`,
		`--scan  scan (default: true) [$T_SCAN]`,
		`--ttl value  ttl (default: 1m0s) [$T_TTL]`,
		`--allow value [ --allow value ]  namespaces (default: "kube-system") [$T_ALLOW]`,
		`--lease-name value  lease [$T_LEASE_NAME]`,
	} {
		if !strings.Contains(help.String(), want) {
			t.Errorf("help lacks %q:\n%s", want, help.String())
		}
	}
	if strings.Contains(help.String(), "Untagged") || strings.Count(help.String(), "\n") != 8 {
		t.Errorf("want exactly the 8 tagged fields:\n%s", help.String())
	}
	if _, err := parse(t, nil); err == nil || !strings.Contains(err.Error(), "tls-cert") {
		t.Fatalf("a required flag left unset: %v, want an error naming it", err)
	}
}

func TestFlagsRefuseAFieldTheyCannotSet(t *testing.T) {
	defer func() {
		if r := recover(); r == nil || !strings.Contains(r.(string), "--rate") {
			t.Fatalf("recovered %v, want a panic naming --rate", r)
		}
	}()
	Flags(&struct {
		Rate float64 `flag:"rate"`
	}{})
}

func TestSelect(t *testing.T) {
	cfg := defaults()
	fs := Flags(&cfg)
	var got []string
	for _, f := range Select(fs, "ttl", "policy", "allow") {
		got = append(got, f.Names()[0])
	}
	if want := []string{"ttl", "policy", "allow"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("selected %v, want %v in that order", got, want)
	}
	defer func() {
		if r := recover(); r == nil || !strings.Contains(r.(string), "--nope") {
			t.Fatalf("recovered %v, want a panic naming --nope", r)
		}
	}()
	Select(fs, "policy", "nope")
}
