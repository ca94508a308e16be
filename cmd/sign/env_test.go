package main

import (
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

// flagsWithoutVariable are the only flags of sign without a SIGNET_
// variable, and why (the README says the same).
var flagsWithoutVariable = map[string]string{
	// cosign's verify flags: a CI job's SIGNET_KEY is the key it signs
	// with, and must never become the key a verification trusts.
	"verify --key": "cosign", "verify --certificate-identity": "cosign", "verify --certificate-identity-regexp": "cosign",
	"verify --certificate-oidc-issuer": "cosign", "verify --trusted-root": "cosign", "verify --insecure-ignore-tlog": "cosign",
	"verify --insecure-ignore-sct": "cosign", "verify --use-signed-timestamps": "cosign",
	// What to act on, as arguments are: the manifests and where they land.
	"verify --filename": "input", "verify --namespace": "input", "audit --namespace": "input",
	// The cluster, as kubectl finds it (KUBECONFIG).
	"audit --kubeconfig": "kubectl", "audit --context": "kubectl",
}

// TestEveryFlagHasAnEnvironmentVariable holds the README's claim: every
// flag of every command has a SIGNET_ variable, but for the exceptions
// above, and an exception that is no longer a flag is removed.
func TestEveryFlagHasAnEnvironmentVariable(t *testing.T) {
	seen := map[string]bool{}
	var walk func(prefix string, cmds []*cli.Command)
	walk = func(prefix string, cmds []*cli.Command) {
		for _, c := range cmds {
			for _, f := range c.Flags {
				key := strings.TrimSpace(prefix+c.Name) + " --" + f.Names()[0]
				seen[key] = true
				ev, _ := f.(interface{ GetEnvVars() []string })
				has := ev != nil && slices.ContainsFunc(ev.GetEnvVars(), func(v string) bool { return strings.HasPrefix(v, "SIGNET_") })
				if _, excepted := flagsWithoutVariable[key]; !has && !excepted {
					t.Errorf("sign %s has no SIGNET_ variable", key)
				}
			}
			walk(prefix+c.Name+" ", c.Subcommands)
		}
	}
	walk("", newApp(io.Discard, io.Discard).Commands)
	for key := range flagsWithoutVariable {
		if !seen[key] {
			t.Errorf("flagsWithoutVariable lists sign %s, which is no flag", key)
		}
	}
}
