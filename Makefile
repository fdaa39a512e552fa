# regcred — see README.md. Every target is safe to run on a fresh machine.
GO       ?= go
# Build and test with the toolchain go.mod names (a patched release, fetched
# through the module proxy when the local Go is older); install.sh instead
# uses whatever Go the user has.
export GOTOOLCHAIN := auto
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
# gotestsum runs go test and ends with the count of tests run, skipped and failed.
GOTESTSUM := gotest.tools/gotestsum@v1.13.0
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -s -w -X github.com/regcred/regcred/internal/version.Version=$(VERSION)
BINARIES := $(notdir $(wildcard cmd/*))
PLATFORMS := linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64 windows/arm64

.PHONY: all help build test deps registry k8s-tools client-tools bench cross dist lint clean demo stress

all: build

## help: list the targets and what each does
help:
	@sed -n 's/^## //p' $(MAKEFILE_LIST) | awk -F': ' '{ printf "  make %-13s %s\n", $$1, $$2 }'

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

## test: the full suite against real components (the README's test command)
test: deps lint k8s-tools client-tools
	@sh scripts/dist.sh --if-stale
	k8s=$$(sh scripts/k8s-tools.sh) && PATH="$$k8s/bin:$$PATH" REGCRED_K8S_TOOLS=$$k8s REGCRED_CLIENT_TOOLS=$$(sh scripts/client-tools.sh) \
		$(GO) run $(GOTESTSUM) --format pkgname-and-test-fails --format-hide-empty-pkg -- -race -count=1 -timeout 30m ./...

## lint: gofmt, go vet, staticcheck and govulncheck
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed: $$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) vet -tags regcredfault ./cmd/...
	$(GO) run $(STATICCHECK) ./...
	sh scripts/vulncheck.sh

## bench: docs/BENCHMARKS.md — regcred vs the upstream helpers on one gnome-keyring
bench: deps k8s-tools
	@mkdir -p bin
	$(GO) test -run '^$$' -bench . -benchmem ./store/ | tee bin/micro-bench.txt
	PATH="$$(sh scripts/k8s-tools.sh)/bin:$$PATH" $(GO) run ./internal/benchtool -micro bin/micro-bench.txt -out docs/BENCHMARKS.md

## demo: the Kubernetes private-registry task, the regcred way, in a throw-away sandbox
## registry: a private registry on loopback to log in to (user me, a fresh password); Ctrl-C stops it
registry:
	@$(GO) run ./internal/localregistry

# The demo builds the k8s tools itself, after the keyring half, with progress.
demo: deps build
	$(GO) run ./internal/demo

## dist: release archives with their SPDX SBOMs, .deb/.rpm, checksums.txt and the krew manifest under dist/ (GoReleaser, syft)
dist:
	@sh scripts/dist.sh

## cross: CGO_ENABLED=0 builds of every command for every supported OS/arch
cross:
	@for p in $(PLATFORMS); do for b in $(BINARIES); do \
		os=$${p%/*}; arch=$${p#*/}; ext=; [ $$os = windows ] && ext=.exe; \
		echo "cross: $$b $$os/$$arch"; \
		CGO_ENABLED=0 GOOS=$$os GOARCH=$$arch $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/cross/$$os-$$arch/$$b$$ext ./cmd/$$b || exit 1; \
	done; done

## stress: longer runs — 1200 concurrent-ish helper processes, a random kill -9 loop, bounded fuzzing
stress: deps
	REGCRED_STRESS=1 $(GO) test -count=1 -timeout 20m -run 'TestStoreChurnKeepsKeyringAlive|TestKillLoop' -v ./helper/
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
	store:FuzzServerAddress:$$((500000*$(FUZZSCALE))) \
	store:FuzzItem:$$((300000*$(FUZZSCALE))) \
	kube:FuzzDockerConfigJSON:$$((45000*$(FUZZSCALE)))

clean:
	rm -rf bin dist completions
