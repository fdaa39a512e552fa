#!/bin/sh
# install.sh — build regcred from source with the local Go toolchain, install
# docker-credential-regcred and kubectl-regcred into PREFIX/bin, and point
# docker at the keyring (docker-credential-regcred configure).
#
#   ./install.sh [--prefix DIR]              install (default PREFIX: $HOME/.local)
#   ./install.sh [--prefix DIR] --uninstall  remove them and restore docker's previous credsStore
#
# Running it again changes nothing. It uses sudo only when PREFIX/bin is not
# writable, and says so first.
set -eu

prefix="${HOME}/.local"
uninstall=0
while [ $# -gt 0 ]; do
	case "$1" in
	--prefix) [ $# -ge 2 ] || { echo "install.sh: --prefix needs a directory" >&2; exit 2; }; prefix="$2"; shift 2 ;;
	--prefix=*) prefix="${1#--prefix=}"; shift ;;
	--uninstall) uninstall=1; shift ;;
	-h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "install.sh: unknown argument: $1 (see --help)" >&2; exit 2 ;;
	esac
done

src=$(cd "$(dirname "$0")" && pwd)
bindir="$prefix/bin"
binaries="docker-credential-regcred kubectl-regcred"

# as_needed runs a command, through sudo only if bindir is not writable.
as_needed() {
	if [ -w "$bindir" ] || { [ ! -e "$bindir" ] && mkdir -p "$bindir" 2>/dev/null; }; then
		"$@"
	else
		echo "install.sh: $bindir is not writable by you; using sudo for: $*" >&2
		sudo "$@"
	fi
}

if [ "$uninstall" = 1 ]; then
	if [ -x "$bindir/docker-credential-regcred" ]; then
		PATH="$bindir:$PATH" "$bindir/docker-credential-regcred" configure --undo
	fi
	for b in $binaries; do
		if [ -e "$bindir/$b" ]; then
			as_needed rm -f "$bindir/$b"
			echo "removed $bindir/$b"
		fi
	done
	exit 0
fi

command -v go >/dev/null 2>&1 || { echo "install.sh: Go is needed to build regcred (https://go.dev/dl/)" >&2; exit 1; }
version=$(cd "$src" && git describe --tags --always --dirty 2>/dev/null || echo dev)
build=$(mktemp -d)
trap 'rm -rf "$build"' EXIT
for b in $binaries; do
	(cd "$src" && CGO_ENABLED=0 GOTOOLCHAIN=local go build -trimpath \
		-ldflags "-s -w -X github.com/regcred/regcred/internal/version.Version=$version" \
		-o "$build/$b" "./cmd/$b")
done

as_needed mkdir -p "$bindir"
for b in $binaries; do
	if [ -f "$bindir/$b" ] && cmp -s "$build/$b" "$bindir/$b"; then
		echo "$bindir/$b is up to date"
	else
		as_needed install -m 0755 "$build/$b" "$bindir/$b"
		echo "installed $bindir/$b"
	fi
done

case ":$PATH:" in
*":$bindir:"*) ;;
*) echo "install.sh: warning: $bindir is not on PATH; add it (e.g. export PATH=\"$bindir:\$PATH\" in your shell profile), or docker cannot find the helper" >&2 ;;
esac

PATH="$bindir:$PATH" "$bindir/docker-credential-regcred" configure
echo "next: docker login REGISTRY, then kubectl regcred export -n NAMESPACE"
