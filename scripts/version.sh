#!/bin/sh
# version.sh — the one place regcred's version is decided and stamped.
# Prints the version: the tag at HEAD (v1.2.3 → 1.2.3), else
# 0.0.0-devel+COMMIT (+dirty for a changed work tree), else 0.0.0-devel
# outside git. With --ldflags it prints the -ldflags value that stamps it
# (make build, install.sh and, through REGCRED_LDFLAGS, GoReleaser use it).
set -eu
cd "$(dirname "$0")/.."
if tag=$(git describe --tags --exact-match 2>/dev/null); then
	version=${tag#v}
elif commit=$(git rev-parse --short=12 HEAD 2>/dev/null); then
	version=0.0.0-devel+$commit
	# A release build (dist.sh) runs on a clean tree; a build of edits says so.
	[ -z "$(git status --porcelain --untracked-files=no 2>/dev/null)" ] || version=$version.dirty
else
	version=0.0.0-devel
fi
case "${1:-}" in
--ldflags) echo "-s -w -X github.com/regcred/regcred/internal/version.Version=$version" ;;
*) echo "$version" ;;
esac
