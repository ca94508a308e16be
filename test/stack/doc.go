// Package stack runs a real, local Sigstore + OCI registry + Kubernetes stack for
// end-to-end tests, so signet is tested against the servers it meets in production
// rather than hand-written fakes.
//
// # Binaries
//
// Servers and CLIs are built from pinned module versions (see Tools) on first use,
// with CGO_ENABLED=0 in throwaway module dirs (never touching signet's go.mod), and
// cached as <CacheDir>/<name>-<version>: os.UserCacheDir()/signet/bin, or
// $SIGNET_STACK_CACHE. Builds are serialised across processes by a file lock and
// published by atomic rename. `go run ./test/stack/cmd/stackbuild` pre-builds all.
//
// # Servers
//
// Start (or New in a test, or Shared from TestMain) launches what Options asks for.
// Every child listens on 127.0.0.1 with a free port, keeps its data, config and log
// (<name>.log) under Stack.Dir, runs in its own process group with
// Pdeathsig=SIGKILL, and is stopped by Close with SIGTERM, then SIGKILL after 5s,
// then Wait. Readiness is polled on a real endpoint; a failure quotes the log tail.
//
//   - OIDC: in-process HTTPS issuer (test CA in OIDC.CAFile) with two issuers,
//     OIDC.GitHubIssuer and OIDC.GitLabIssuer, minting GitHub Actions and GitLab CI
//     claim sets (MintGitHub, MintGitLab) and mimicking the Actions token endpoint
//     (ActionsTokenEndpoint, ActionsEnv).
//   - Registry: distribution/v3 v3.1.2. It has no OCI 1.1 referrers API
//     (Registry.ReferrersAPI is false); clients use the sha256-<hex> tag fallback.
//     NewRegistry gives go-containerregistry's in-process registry, which has it.
//   - Fulcio v1.8.8: ephemeral CA; the two issuers map to the github-workflow and
//     gitlab-pipeline CI providers with fulcio's own templates, so certificates
//     carry the SANs and extensions real tokens produce. No CT log: no SCTs.
//   - TSA: timestamp-authority v2.1.3, in-memory signer, built so that its
//     metrics server binds a free loopback port instead of the release's fixed
//     :2112 (ToolTSA): every stack runs its own.
//   - Rekor: rekor-tiles v2.3.0 (Rekor v2), POSIX storage.
//   - Kube: etcd v3.6.16 + kube-apiserver v1.37.2, token auth (Kube.Token is in
//     system:masters), RBAC; Kube.Config, Kube.Kubeconfig, Kube.CAFile. No
//     controllers run: default/default ServiceAccount is pre-created so Pods admit.
//   - Node (implies Registry and Kube): a real single-node cluster around that
//     apiserver (Node authorizer, NodeRestriction, endpoint routing for webhook
//     Services): kube-controller-manager and kube-scheduler v1.37.2, a kubelet
//     v1.34.4 (cgroup v1 here), containerd v2.4.2 with NRI on Node.NRISocket and
//     Debian's runc (make tools), the CNI bridge plugin on a bridge of its own, a pause image built from cmd/pause.
//     Pods reach the registry and the apiserver at Node.RegistryHost and
//     Node.APIServerHost; one node runs per machine (a file lock). Close stops
//     every sandbox through CRI and removes what the node made; Node.Leftovers
//     lists anything that remains.
//
// Stack.TrustedRootPath and Stack.SigningConfigPath hold a trusted_root.json and a
// v0.2 signing_config.json built with sigstore-go from the running servers.
//
// # cosign
//
// CosignV2 and CosignV3 return the cosign v2.6.5 and v3.1.3 binaries. The Cosign*
// helpers sign and verify images in the registry against this stack only, with a
// hermetic environment (CosignEnv) that cannot reach beyond loopback.
//
//	s := stack.New(t, stack.Options{Registry: true, Fulcio: true, TSA: true, Rekor: true})
//	tok, _ := s.OIDC.MintGitHub(stack.GitHubClaims{})
//	stack.CosignSignKeyless(t, stack.CosignV3(t), s, image, tok)
//
// # notation
//
// NotationCLI returns the Notary Project's notation v1.3.2 binary. A NotationHome
// is its configuration in a temp dir (trust store by `notation cert add`, trust
// policy by `notation policy import`, file signing keys in signingkeys.json); its
// Sign and Verify reach this stack's plain-HTTP registry (--insecure-registry).
//
//	h := stack.NewNotationHome(t, stack.NotationCLI(t))
//	h.AddCert(t, "ca", "acme", rootPEMPath)
//	h.ImportPolicy(t, trustPolicyJSON)
//	out, err := h.Verify(ctx, image)
package stack
