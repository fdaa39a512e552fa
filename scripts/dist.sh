#!/bin/sh
# dist.sh — the release build (make dist): GoReleaser v2 (from the Go module
# proxy; nothing else is downloaded) writes under dist/ an archive per
# OS/arch, .deb and .rpm packages and checksums.txt; then the krew plugin
# manifest is written from the same artifacts, and its own sum added.
# Offline and reproducible: -trimpath, and every file time the commit's.
# The version is scripts/version.sh's. With --if-stale it does nothing when
# dist/ already holds the build of HEAD.
set -eu
cd "$(dirname "$0")/.."
# The toolchain go.mod names builds the release, however this is started
# (make exports the same; a shell's GOTOOLCHAIN=local would otherwise give
# other binaries).
export GOTOOLCHAIN=auto
# Everything here is built as the release is (static, -trimpath): the
# completions hook, spdxsbom, the krew manifest's writer and the tools then
# reuse what lint and the release compile, and the other way round.
export CGO_ENABLED=0 GOFLAGS="-trimpath${GOFLAGS:+ $GOFLAGS}"
goreleaser=github.com/goreleaser/goreleaser/v2@v2.15.1
syft_version=1.57.2
if [ "${1:-}" = --if-stale ] && [ -f dist/regcred.krew.yaml ] &&
	grep -q "\"commit\":\"$(git rev-parse HEAD)\"" dist/metadata.json 2>/dev/null; then
	exit 0
fi
version=$(sh scripts/version.sh)
# .goreleaser.yaml stamps the binaries with this.
REGCRED_LDFLAGS=$(sh scripts/version.sh --ldflags)
export REGCRED_LDFLAGS
url=${REGCRED_DOWNLOAD_URL:-https://github.com/regcred/regcred/releases/download/v$version/}
# GoReleaser reads the commit, and its time, only where git names a remote
# (else it stamps "none" and the build's own time): name one for this run
# where the clone has none.
if ! git remote get-url origin >/dev/null 2>&1; then
	export GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0=remote.origin.url GIT_CONFIG_VALUE_0=https://github.com/regcred/regcred.git
fi
# GoReleaser and syft, which writes the SBOMs, are built once per version
# and Go release and cached like the k8s tools, with Go caches of their own
# (scripts/isolated-go.sh); spdxsbom, which runs syft (.goreleaser.yaml), is
# built for each release.
. scripts/isolated-go.sh
tools="${XDG_CACHE_HOME:-$HOME/.cache}/regcred/release-tools/goreleaser-${goreleaser##*@}-syft-$syft_version-$(go env GOVERSION)"
if [ ! -x "$tools/syft" ] || [ ! -x "$tools/goreleaser" ]; then
	echo "dist: building GoReleaser ${goreleaser##*@} and syft $syft_version into $tools (first time only: several minutes)" >&2
	rm -rf "$tools.tmp" "$tools.scratch"
	# -s -w: no symbol table or DWARF; the links take half the time.
	GOBIN="$tools.tmp" isolated_go "$tools.scratch" install -trimpath -ldflags "-s -w" "$goreleaser"
	GOBIN="$tools.tmp" isolated_go "$tools.scratch" install -trimpath -ldflags "-s -w -X main.version=$syft_version" \
		"github.com/anchore/syft/cmd/syft@v$syft_version"
	rm -rf "$tools.scratch"
	# Builds for other versions are stale.
	find "$(dirname "$tools")" -mindepth 1 -maxdepth 1 ! -name "$(basename "$tools").tmp" -exec rm -rf {} +
	mv "$tools.tmp" "$tools"
fi
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
go build -o "$bin/spdxsbom" ./tools/spdxsbom
export PATH="$bin:$tools:$PATH" GOMODCACHE="$(go env GOMODCACHE)"
REGCRED_VERSION=$version goreleaser release --snapshot --clean --skip=publish,announce,sign
go run ./tools/krewmanifest -dist dist -version "$version" -url "$url" > dist/regcred.krew.yaml
(cd dist && sha256sum regcred.krew.yaml >> checksums.txt)
echo "dist: regcred $version" >&2
