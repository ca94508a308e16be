# signet: two commands do all set-up on a fresh machine: `make demo` and `make test`.
GO        ?= go
BIN       := bin
PKGS      := ./...
FUZZTIME  ?= 10s
BENCHTIME ?= 2s

.PHONY: all build demo stack tools test unit e2e bench fuzz vet lint static clean release

all: build

## build: sign, enforce and signet-kms into bin/, stamped with the commit (`sign version`;
## Go records none itself in a git worktree).
COMMIT := $(shell git rev-parse HEAD 2>/dev/null)
build:
	$(GO) build -ldflags "-X github.com/signet-dev/signet/internal/buildinfo.commit=$(COMMIT)" -o $(BIN)/ ./cmd/...

## demo: the whole story on this machine, no cluster, cloud account or Docker needed.
## Compiled as make test compiles (static, -trimpath), so either one's build cache serves the other.
demo:
	CGO_ENABLED=0 $(GO) run -trimpath ./tools/demo

## release: the release into dist/ (tools/release): static reproducible sign and enforce
## for linux/darwin amd64/arm64, SBOMs, SHA256SUMS, multi-arch images on a base built from
## Debian packages (OCI layout dist/oci), the chart pinned to the enforce image's digest,
## release notes. Without VERSION a snapshot of the upcoming release; VERSION=v0.2.0 must
## equal the chart's appVersion. PUSH=1 pushes the images to PREFIX.
VERSION   ?=
PREFIX    ?= ghcr.io/signet-dev
BINARIES  ?=
DIST      ?= dist
## The release tool itself is compiled as make test compiles (static, -trimpath), so a
## run inside make test (the release tests, the release workflow's) finds it in the cache.
release:
	CGO_ENABLED=0 $(GO) run -trimpath ./tools/release/cmd/release -dist "$(DIST)" -prefix "$(PREFIX)" \
		$(if $(VERSION),-version "$(VERSION)") $(if $(PUSH),-push) $(if $(BINARIES),-binaries "$(BINARIES)")

## stack: build (once, cached by version in the user cache dir) the real servers the
## end-to-end tests start: registry, Fulcio, TSA, Rekor v2, etcd, kube-apiserver, cosign v2/v3, notation,
## and the node's kube-controller-manager, kube-scheduler, kubelet and containerd 2.x.
stack:
	$(GO) build -o $(BIN)/stackbuild ./test/stack/cmd/stackbuild
	$(BIN)/stackbuild

## tools: Debian packages the tests run, installed if missing: shellcheck, buildah and rsync
## (gitlab-ci-local's shell executor) for the CI-template tests; runc and the CNI
## plugins (bridge, host-local, loopback) for the node the Helm chart is installed on.
SUDO := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)
TOOLS_DEB := shellcheck buildah rsync runc containernetworking-plugins
tools:
	@command -v shellcheck >/dev/null && command -v buildah >/dev/null && command -v rsync >/dev/null && \
	 command -v runc >/dev/null && [ -x /usr/lib/cni/bridge ] || { \
		echo "installing $(TOOLS_DEB) (Debian packages) for the CI-template and node tests"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $(TOOLS_DEB) >/dev/null; }

## test: everything CI runs — vet, unit, specification and end-to-end tests.
## The concurrent packages' tests run under the race detector, and the
## end-to-end tests run race-built sign and enforce binaries (SIGNET_E2E_RACE),
## so a data race fails CI; the other packages run once, without it.
##
## CI's first run on a fresh 2-core machine must stay under 40 minutes, and
## compiling is most of it (see docs/development.md, the CI budget), so:
##  - everything but the race builds is compiled as the release is (static,
##    -trimpath), so vet, the tests, `make release`, the GitHub action and the
##    node's image share one compile of the dependencies instead of two;
##  - stackbuild is compiled first (it shares most packages with vet: two go
##    commands compiling one package at once both pay for it), then vet
##    followed by staticcheck (make static) and the stack build run side by
##    side (stack's own go build is then a cache hit). staticcheck is built
##    once and cached by version like the servers; cold, its analysis costs
##    ~2.5 CPU-minutes after vet (see the README's CI budget).
## The race phase: every product package that starts goroutines or shares
## state behind a lock (test/arch TestRacePhaseCoversTheConcurrentPackages).
RACE_PKGS := ./enforce/... ./verify ./sign ./ocisig ./regclient ./manifest ./scan ./policy ./policyreport ./trustroot ./internal/kubecore
test: export GOFLAGS := $(strip $(GOFLAGS) -trimpath)
test: export CGO_ENABLED := 0
test:
	$(GO) build -o $(BIN)/stackbuild ./test/stack/cmd/stackbuild
	$(MAKE) --no-print-directory -j3 --output-sync=target tools static stack
	CGO_ENABLED=1 $(GO) test -race -count=1 -timeout 20m $(RACE_PKGS)
	SIGNET_E2E_RACE=1 $(GO) test -count=1 -parallel 4 -timeout 45m $$($(GO) list $(PKGS) | grep -vxF $$($(GO) list $(RACE_PKGS) | sed 's/^/-e /'))

## unit: tests without the end-to-end stack.
unit:
	$(GO) test -count=1 -short $$($(GO) list ./... | grep -v /test/)

## e2e: only the end-to-end tests against real servers.
e2e: stack
	$(GO) test -count=1 -parallel 4 -timeout 45m ./test/...

## vet: go vet and go.mod as `go mod tidy` leaves it; lint: staticcheck
## (pinned: stackbuild builds it once from the Go module proxy and caches it
## by version beside the stack's servers, test/stack.ToolStaticcheck). Each
## fails on a finding; make test runs both.
vet:
	$(GO) vet $(PKGS)
	$(GO) mod tidy -diff

lint:
	$$($(GO) run ./test/stack/cmd/stackbuild -path staticcheck) $(PKGS)

## static: vet, then staticcheck, which then finds vet's compiled packages
## in the build cache instead of compiling them a second time beside it.
static: vet
	@$(MAKE) --no-print-directory lint

## bench: the benchmarks the issues name, with medians.
bench: stack
	$(GO) test -run '^$$' -bench . -benchtime $(BENCHTIME) -count 5 ./policy ./verify ./enforce ./enforce/node ./test/startup ./test/e2e | tee bench.out
	cd bench/cosignlib && $(GO) test -run '^$$' -bench . -benchtime $(BENCHTIME) -count 5 . | tee -a ../../bench.out
	$(GO) run ./tools/benchfmt < bench.out

## fuzz: a short run of every fuzz target, as `go test -list '^Fuzz'` finds
## them in each package that declares one (a new target joins by existing).
fuzz:
	@for pkg in $$(grep -rl --include='*_test.go' '^func Fuzz' . | xargs -n1 dirname | sort -u); do \
		for t in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
			$(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; done; done

clean:
	rm -rf $(BIN) bench.out dist
