#!/bin/sh
# client-tools.sh — build the registry clients Debian does not package (helm
# and oras) from the Go module proxy, once: they are cached under
# ~/.cache/regcred, keyed on this script (which pins their versions) and the
# toolchain. Prints the directory that holds them. A cold build takes minutes.
set -eu
export GOTOOLCHAIN=auto
HELM=helm.sh/helm/v3/cmd/helm@v3.22.0
ORAS=oras.land/oras/cmd/oras@v1.3.6
key=$( (cat "$(cd "$(dirname "$0")" && pwd)/$(basename "$0")"; go env GOVERSION) | sha256sum | cut -c1-16)
cache="${XDG_CACHE_HOME:-$HOME/.cache}/regcred/client-tools"
dir="$cache/$key"
mkdir -p "$cache"
# One build at a time: test packages may ask concurrently.
exec 9>"$cache/.lock"
flock 9
if [ ! -x "$dir/helm" ] || [ ! -x "$dir/oras" ]; then
	echo "client-tools: building $HELM and $ORAS into $dir" >&2
	echo "client-tools: first time only: about 5 minutes on 2 cores; cached after" >&2
	tmp=$(mktemp -d "$cache/.build-XXXXXX")
	scratch=$(mktemp -d "$cache/.scratch-XXXXXX")
	trap 'rm -rf "$scratch"' EXIT
	. "$(cd "$(dirname "$0")" && pwd)/isolated-go.sh"
	start=$(date +%s)
	# -s -w: no symbol table or DWARF, which the tests never read; the
	# links take half the time, the binaries 30% less room.
	for pkg in $HELM $ORAS; do
		GOBIN="$tmp" CGO_ENABLED=0 isolated_go "$scratch" install -trimpath -ldflags="-s -w" "$pkg"
	done
	echo "client-tools: built in $(( $(date +%s) - start )) s" >&2
	rm -rf "$scratch"
	rm -rf "$dir" && mv "$tmp" "$dir"
	# Builds under other keys are stale: a version or toolchain change.
	find "$cache" -mindepth 1 -maxdepth 1 -type d ! -name "$key" ! -name '.build-*' ! -name '.scratch-*' -exec rm -rf {} +
fi
echo "$dir"
