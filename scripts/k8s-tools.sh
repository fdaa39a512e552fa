#!/bin/sh
# k8s-tools.sh — build the test-only Kubernetes binaries (kube-apiserver and
# the kubelet's pull-secret resolver) from the separate tools/k8s module, once:
# they are cached under ~/.cache/regcred, keyed on that module's sources.
# Prints the directory that holds them. A cold build takes minutes.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
src="$root/tools/k8s"
key=$(cat "$src/go.mod" "$src/go.sum" "$src"/cmd/*/main.go "$(cd "$src" && go env GOROOT)/VERSION" | sha256sum | cut -c1-16)
dir="${XDG_CACHE_HOME:-$HOME/.cache}/regcred/k8s-tools/$key"
if [ ! -x "$dir/kube-apiserver" ] || [ ! -x "$dir/kubelet-keyring" ]; then
	echo "k8s-tools: building kube-apiserver and kubelet-keyring into $dir (first time only)" >&2
	mkdir -p "$dir.tmp"
	(cd "$src" && CGO_ENABLED=0 go build -trimpath -o "$dir.tmp/" ./cmd/kube-apiserver ./cmd/kubelet-keyring)
	rm -rf "$dir" && mv "$dir.tmp" "$dir"
fi
echo "$dir"
