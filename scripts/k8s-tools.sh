#!/bin/sh
# k8s-tools.sh — build the test-only Kubernetes binaries (kube-apiserver, the
# kubelet, the kubelet's pull-secret resolver, and in bin/ the kubectl of the
# same release, which make test puts first on PATH) from the separate
# tools/k8s module, once:
# they are cached under ~/.cache/regcred, keyed on that module's sources and
# toolchain. Prints the directory that holds them. A cold build takes minutes.
# With --cached it builds nothing: exit 0 (and the directory) only if cached.
set -eu
# Let tools/k8s/go.mod choose the toolchain, whatever the caller inherited
# (go test runs its children with GOTOOLCHAIN=<its own version>+auto).
export GOTOOLCHAIN=auto
root=$(cd "$(dirname "$0")/.." && pwd)
src="$root/tools/k8s"
key=$(cat "$src/go.mod" "$src/go.sum" "$src"/cmd/*/main.go "$(cd "$src" && go env GOROOT)/VERSION" | sha256sum | cut -c1-16)
cache="${XDG_CACHE_HOME:-$HOME/.cache}/regcred/k8s-tools"
dir="$cache/$key"
if [ "${1:-}" = --cached ]; then
	[ -x "$dir/kube-apiserver" ] && [ -x "$dir/kubelet" ] && [ -x "$dir/kubelet-keyring" ] && [ -x "$dir/bin/kubectl" ] && echo "$dir"
	exit
fi
mkdir -p "$cache"
# One build at a time: test packages may ask concurrently.
exec 9>"$cache/.lock"
flock 9
if [ ! -x "$dir/kube-apiserver" ] || [ ! -x "$dir/kubelet" ] || [ ! -x "$dir/kubelet-keyring" ] || [ ! -x "$dir/bin/kubectl" ]; then
	echo "k8s-tools: building kube-apiserver, kubelet, kubelet-keyring and kubectl from k8s.io/kubernetes into $dir" >&2
	echo "k8s-tools: first time only: about 5 to 15 minutes on 2 cores, 2-3 GB of memory; cached after" >&2
	tmp=$(mktemp -d "$cache/.build-XXXXXX")
	scratch=$(mktemp -d "$cache/.scratch-XXXXXX")
	trap 'rm -rf "$scratch"' EXIT
	. "$root/scripts/isolated-go.sh"
	start=$(date +%s)
	# -s -w: no symbol table or DWARF, which the tests never read; the
	# links take half the time, the binaries 30% less room.
	(cd "$src" && CGO_ENABLED=0 isolated_go "$scratch" build -trimpath -ldflags="-s -w" -o "$tmp/" ./cmd/kube-apiserver ./cmd/kubelet ./cmd/kubelet-keyring &&
		CGO_ENABLED=0 isolated_go "$scratch" build -trimpath -ldflags="-s -w" -o "$tmp/bin/kubectl" ./cmd/kubectl)
	echo "k8s-tools: built in $(( $(date +%s) - start )) s" >&2
	rm -rf "$scratch"
	rm -rf "$dir" && mv "$tmp" "$dir"
	# Builds under other keys are stale: a tools module or toolchain change.
	find "$cache" -mindepth 1 -maxdepth 1 -type d ! -name "$key" ! -name '.build-*' ! -name '.scratch-*' -exec rm -rf {} +
fi
echo "$dir"
