# regcred — see README.md. Every target is safe to run on a fresh machine.
GO       ?= go
# Build and test with the toolchain go.mod names (a patched release, fetched
# through the module proxy when the local Go is older); install.sh instead
# uses whatever Go the user has.
export GOTOOLCHAIN := auto
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
# gotestsum runs go test and ends with the count of tests run, skipped and failed.
GOTESTSUM := gotest.tools/gotestsum@v1.13.0
LDFLAGS  := $(shell sh scripts/version.sh --ldflags)
BINARIES := $(notdir $(wildcard cmd/*))
# The k8s tools (kube-apiserver, kubelet, kubectl) the black-box suites run,
# kubectl first on PATH: k8s = the directory scripts/k8s-tools.sh prints.
# The suites' test binaries build with the release's flags (RELEASEENV,
# below): they link client-go and the standard library, which lint and
# make dist have compiled that way; with go's defaults a cold run compiled
# them a third time (765 compiles and 106 s on 2 cores, against 18 and 23 s).
E2E_ENV = $(RELEASEENV) PATH="$$k8s/bin:$$PATH" REGCRED_K8S_TOOLS=$$k8s REGCRED_CLIENT_TOOLS=$$(sh scripts/client-tools.sh) REGCRED_E2E=1
TESTFLAGS ?=

.PHONY: all help build test e2e ci ci-suites ci-fuzz deps loginpath registry k8s-tools client-tools bench dist lint clean demo stress stress-loops fuzz

all: build

## help: list the targets and what each does
help:
	@sed -n 's/^## \([a-z0-9-]*\): /\1	/p' $(MAKEFILE_LIST) | awk -F'	' '{ printf "  make %-13s %s\n", $$1, $$2 }'

## build: bin/<name> for every command under cmd/
build:
	@mkdir -p bin
	@for b in $(BINARIES); do \
		CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/$$b ./cmd/$$b || exit 1; \
	done

## deps: install (as root on Debian) or name the system packages the tests use
deps:
	@sh scripts/deps.sh

## k8s-tools: build (once, cached in ~/.cache/regcred) the test-only kube-apiserver, kubelet, its resolver and kubectl
k8s-tools:
	@sh scripts/k8s-tools.sh >/dev/null

## client-tools: build (once, cached in ~/.cache/regcred) helm and oras, clients the tests drive
client-tools:
	@sh scripts/client-tools.sh >/dev/null

## test: the contributor's loop (the README's test command): go test ./... with the test cache — each package in-process, the keyrings this machine has; no release build, no apt
test:
	$(GO) run $(GOTESTSUM) --format pkgname-and-test-fails --format-hide-empty-pkg -- $(TESTFLAGS) ./...

## e2e: the black-box suites alone (e2e/, the demo's) against real components, which it installs and builds first
e2e: deps k8s-tools client-tools
	k8s=$$(sh scripts/k8s-tools.sh) && $(E2E_ENV) $(GO) run $(GOTESTSUM) --format pkgname-and-test-fails --format-hide-empty-pkg -- $(E2EFLAGS) ./e2e/... ./tools/demo/

# The black-box suites always run afresh: they build and exec the binaries,
# which the test cache does not see change. A test whose keyrings each have
# their own provider and user runs them side by side (onEach), four at once.
# Packages run two at a time (go test's default here). Three took the phase
# from 295 s to 229 s, but TestWindowsCredentialManager then failed once,
# in a cold run, its Windows helper ended by a signal; four (tried when
# install.sh's build still compiled everything cold) gained little and a
# Wine test failed under it.
E2EFLAGS = -count=1 -timeout 40m -parallel 4

## ci: what .ci/run runs — lint, the release, make test under the race detector, every black-box suite (CI=true: nothing real skipped), the kill loops, and beside them the fuzzers (make stress's two halves)
# make test's phase runs the packages in-process, where -race sees the
# product's own code; the black-box suites exec binaries built without it.
# make test's in-process packages run four at a time: they mostly wait on
# keyrings (lint beside the release build saved nothing: both are CPU-bound).
ci: deps lint k8s-tools client-tools dist
	$(MAKE) --no-print-directory -j2 --output-sync=line ci-suites ci-fuzz

# make test -race, the black-box suites and the kill loops, in turn.
ci-suites:
	CI=true REGCRED_E2E=0 $(MAKE) --no-print-directory test TESTFLAGS='-race -count=1 -p 4'
	CI=true $(MAKE) --no-print-directory e2e
	CI=true $(MAKE) --no-print-directory stress-loops

# The fuzzers beside them, in the idle scheduling class (chrt --idle: they
# run only when nothing else wants the CPU). They only need CPU, for a
# count of executions rather than a time, and take what the suites, which
# mostly wait on keyrings and servers, leave. Their output comes as one
# block when they are done (--output-sync=line: each command's together).
ci-fuzz:
	chrt --idle 0 $(MAKE) --no-print-directory fuzz

## lint: gofmt, go vet, staticcheck and govulncheck
# With the release's build flags (RELEASEENV): what vet compiles to check
# the packages is then what make dist, the black-box suites' builds and the
# k8s tools' build (scripts/isolated-go.sh) find in the build cache, instead
# of a second and a third compile of every dependency (client-go and the
# standard library among them: about 70 s each on a cold 2-core machine).
RELEASEENV = CGO_ENABLED=0 GOFLAGS="-trimpath $$GOFLAGS"
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed: $$out"; exit 1; fi
	$(RELEASEENV) $(GO) vet ./...
	$(RELEASEENV) $(GO) vet -tags regcredfault ./cmd/...
	$(RELEASEENV) $(GO) run $(STATICCHECK) ./...
	$(RELEASEENV) sh scripts/vulncheck.sh

## bench: docs/BENCHMARKS.md — regcred vs the upstream helpers on one gnome-keyring
bench: deps k8s-tools
	@mkdir -p bin
	$(GO) test -run '^$$' -bench . -benchmem ./store/ | tee bin/micro-bench.txt
	PATH="$$(sh scripts/k8s-tools.sh)/bin:$$PATH" $(GO) run ./tools/bench -micro bin/micro-bench.txt -out docs/BENCHMARKS.md

## loginpath: how one docker login reads through the code — the files it enters, in order, and its returns to a file already left (delve, gnome-keyring)
loginpath:
	$(GO) run ./tools/loginpath

## registry: a private registry on loopback to log in to (user me, a fresh password); Ctrl-C stops it
registry:
	@$(GO) run ./tools/localregistry

## demo: the Kubernetes private-registry task, the regcred way, in a throw-away sandbox
# The demo builds the k8s tools itself, after the keyring half, with progress.
demo: deps build
	$(GO) run ./tools/demo

## dist: release archives with their SPDX SBOMs, .deb/.rpm, checksums.txt and the krew manifest under dist/ (GoReleaser, syft)
dist:
	@sh scripts/dist.sh

## stress: longer runs — 1200 concurrent-ish helper processes, a random kill -9 loop, then bounded fuzzing
# The churn first (go test runs it before the parallel loops), then the
# kill loops side by side (-parallel 5: five loops): the churn beside them,
# or the fuzzers at normal priority, slowed the loops as much as the work
# overlapped (112 s against 94 s; 138 s against 133 s). make ci runs the
# fuzzers beside all the suites instead, in the idle scheduling class.
stress: deps stress-loops fuzz

stress-loops:
	$(RELEASEENV) REGCRED_STRESS=1 REGCRED_E2E=1 $(GO) test -count=1 -timeout 20m -parallel 5 -run 'TestStoreChurnKeepsKeyringAlive|TestKillLoop' -v ./e2e/helper/

## fuzz: bounded fuzzing of every fuzz target (FUZZSCALE scales the budgets)
fuzz:
	@for t in $(FUZZ_TARGETS); do pkg=$${t%%:*}; rest=$${t#*:}; name=$${rest%%:*}; n=$${rest#*:}; \
		echo "fuzz: $$name in ./$$pkg/, $$n executions"; \
		$(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime "$$n"x -timeout 15m ./$$pkg/ || exit 1; \
	done

# Fuzz budgets are execution counts, not durations. A -fuzztime duration races
# the fuzzing coordinator's deadline against in-flight workers, and on a loaded
# machine the target fails with a bare "context deadline exceeded" and no
# crasher (it did in CI; see ethereum-optimism/optimism#21516). A count has no
# deadline to race. Each count is about 20 s on a 2-core CI machine; scale all
# of them with FUZZSCALE (e.g. FUZZSCALE=10 for an overnight run).
FUZZSCALE ?= 1
FUZZ_TARGETS = helper:FuzzStoreInput:$$((150000*$(FUZZSCALE))) \
	store/address:FuzzServerAddress:$$((500000*$(FUZZSCALE))) \
	store:FuzzItem:$$((300000*$(FUZZSCALE))) \
	kube/dockerconfig:FuzzDockerConfigJSON:$$((200000*$(FUZZSCALE)))

clean:
	rm -rf bin dist completions
