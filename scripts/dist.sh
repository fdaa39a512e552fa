#!/bin/sh
# dist.sh — the release build (make dist): GoReleaser v2 (from the Go module
# proxy; nothing else is downloaded) writes under dist/ an archive per
# OS/arch, .deb and .rpm packages and checksums.txt; then the krew plugin
# manifest is written from the same artifacts, and its own sum added.
# Offline and reproducible: -trimpath, and every file time the commit's.
# The version is the tag at HEAD (v1.2.3 → 1.2.3), else 0.0.0-devel+COMMIT.
# With --if-stale it does nothing when dist/ already holds the build of HEAD
# (make test runs it so, before the tests that install the release).
set -eu
cd "$(dirname "$0")/.."
goreleaser=github.com/goreleaser/goreleaser/v2@v2.15.1
if [ "${1:-}" = --if-stale ] && [ -f dist/regcred.krew.yaml ] &&
	grep -q "\"commit\":\"$(git rev-parse HEAD)\"" dist/metadata.json 2>/dev/null; then
	exit 0
fi
if tag=$(git describe --tags --exact-match 2>/dev/null); then
	version=${tag#v}
else
	version=0.0.0-devel+$(git rev-parse --short=12 HEAD)
fi
url=${REGCRED_DOWNLOAD_URL:-https://github.com/regcred/regcred/releases/download/v$version/}
# GoReleaser reads the commit, and its time, only where git names a remote
# (else it stamps "none" and the build's own time): name one for this run
# where the clone has none.
if ! git remote get-url origin >/dev/null 2>&1; then
	export GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0=remote.origin.url GIT_CONFIG_VALUE_0=https://github.com/regcred/regcred.git
fi
REGCRED_VERSION=$version go run "$goreleaser" release --snapshot --clean --skip=publish,announce,sign,sbom
go run ./internal/krewmanifest -dist dist -version "$version" -url "$url" > dist/regcred.krew.yaml
(cd dist && sha256sum regcred.krew.yaml >> checksums.txt)
echo "dist: regcred $version" >&2
