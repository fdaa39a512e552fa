#!/bin/sh
# install.sh — build regcred from source, install docker-credential-regcred
# and kubectl-regcred into PREFIX/bin, choose the keyring (under WSL with
# interop the Windows Credential Manager, through regcred's Windows build,
# which it installs under the Windows user's profile; else a Secret Service
# where one answers, else the kernel keyring, which every Linux machine has)
# and wire the container clients to it (docker-credential-regcred
# configure). Ends with docker-credential-regcred doctor.
#
#   ./install.sh [--prefix DIR]              install (default PREFIX: $HOME/.local)
#   ./install.sh [--prefix DIR] --configure  wire the clients even when no keyring can be used
#   ./install.sh [--prefix DIR] --uninstall  remove them and put back what configure changed
#
# Running it again changes nothing. It uses sudo only when PREFIX/bin is not
# writable, and says so first. Go 1.21 or newer fetches the Go release
# go.mod names by itself (GOTOOLCHAIN=auto).
set -eu

prefix="${HOME}/.local"
uninstall=0
configure=0
while [ $# -gt 0 ]; do
	case "$1" in
	--prefix) [ $# -ge 2 ] || { echo "install.sh: --prefix needs a directory" >&2; exit 2; }; prefix="$2"; shift 2 ;;
	--prefix=*) prefix="${1#--prefix=}"; shift ;;
	--uninstall) uninstall=1; shift ;;
	--configure) configure=1; shift ;;
	-h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
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

# Under WSL 2 the kernel keyring lives in a VM Windows stops at `wsl
# --shutdown`, after an idle while and at every restart. Where interop runs
# Windows programs, regcred's Windows build goes under the Windows user's
# %LOCALAPPDATA%\Programs\regcred and keeps credentials in the Windows
# Credential Manager, shared with Windows.
is_wsl() {
	[ -n "${WSL_DISTRO_NAME:-}" ] || grep -qi microsoft /proc/sys/kernel/osrelease 2>/dev/null
}
# windows_local prints the Windows user's %LOCALAPPDATA% as a Linux path,
# asking Windows (cmd.exe, through interop) where the user's profile is.
windows_local() {
	appdata=$(cmd.exe /d /c 'echo %LOCALAPPDATA%' 2>/dev/null | tr -d '\r') || return 1
	case "$appdata" in '' | *%*) return 1 ;; esac
	dir=$(wslpath -u "$appdata" 2>/dev/null) || return 1
	echo "${dir%/}"
}
exe=docker-credential-regcred.exe

if [ "$uninstall" = 1 ]; then
	if [ -x "$bindir/docker-credential-regcred" ]; then
		PATH="$bindir:$PATH" "$bindir/docker-credential-regcred" configure --undo
	fi
	if is_wsl && local=$(windows_local) && [ -e "$local/Programs/regcred/$exe" ]; then
		left=$("$bindir/docker-credential-regcred" list 2>/dev/null || true)
		case "$left" in '' | '{}') ;; *) echo "install.sh: the Windows Credential Manager keeps the credentials regcred stored ($left): docker logout REGISTRY before uninstalling erases one" >&2 ;; esac
		rm -f "$local/Programs/regcred/$exe" "$local/regcred/lock" "$local/regcred/lock.holder"
		rmdir "$local/Programs/regcred" "$local/regcred" 2>/dev/null || true
		echo "removed $local/Programs/regcred/$exe"
	fi
	for b in $binaries; do
		if [ -e "$bindir/$b" ]; then
			as_needed rm -f "$bindir/$b"
			echo "removed $bindir/$b"
		fi
	done
	exit 0
fi

command -v go >/dev/null 2>&1 || { echo "install.sh: Go 1.21 or newer is needed to build regcred (https://go.dev/dl/, or: sudo apt-get install golang-go)" >&2; exit 1; }
# Let go fetch the release go.mod names when this one is older (Debian's
# go.env says GOTOOLCHAIN=local); a GOTOOLCHAIN you set yourself wins.
export GOTOOLCHAIN="${GOTOOLCHAIN:-auto}"
ldflags=$(sh "$src/scripts/version.sh" --ldflags)
build=$(mktemp -d)
trap 'rm -rf "$build"' EXIT
echo "building docker-credential-regcred and kubectl-regcred (the first build downloads modules and may take a few minutes)"
for b in $binaries; do
	(cd "$src" && CGO_ENABLED=0 go build -trimpath \
		-ldflags "$ldflags" \
		-o "$build/$b" "./cmd/$b")
done
windir=""
if is_wsl; then
	if local=$(windows_local); then
		windir="$local/Programs/regcred"
		echo "building $exe for the Windows side (WSL: credentials go to the Windows Credential Manager)"
		(cd "$src" && GOOS=windows GOARCH=amd64 CGO_ENABLED=0 go build -trimpath \
			-ldflags "$ldflags" -o "$build/$exe" ./cmd/docker-credential-regcred)
	else
		windir=""
		echo "install.sh: WSL interop does not run Windows programs here (cmd.exe did not answer): credentials go to the kernel keyring, which Windows clears at every wsl --shutdown; docker-credential-regcred doctor says how to change that" >&2
	fi
fi

as_needed mkdir -p "$bindir"
for b in $binaries; do
	if [ -f "$bindir/$b" ] && cmp -s "$build/$b" "$bindir/$b"; then
		echo "$bindir/$b is up to date"
	else
		as_needed install -m 0755 "$build/$b" "$bindir/$b"
		echo "installed $bindir/$b"
	fi
done

if [ -n "$windir" ]; then
	mkdir -p "$windir"
	if [ -f "$windir/$exe" ] && cmp -s "$build/$exe" "$windir/$exe"; then
		echo "$windir/$exe is up to date"
	else
		cp "$build/$exe" "$windir/$exe.tmp" && mv -f "$windir/$exe.tmp" "$windir/$exe"
		echo "installed $windir/$exe"
	fi
	# The Windows Credential Manager from now on; what the kernel keyring
	# held moves there.
	PATH="$bindir:$PATH" "$bindir/docker-credential-regcred" configure --backend windows
fi

case ":$PATH:" in
*":$bindir:"*) ;;
*) echo "install.sh: warning: $bindir is not on PATH; add it (e.g. export PATH=\"$bindir:\$PATH\" in your shell profile), or docker cannot find the helper" >&2 ;;
esac

helper="$bindir/docker-credential-regcred"
# Wire the clients only where a keyring can be used (in a container whose
# seccomp profile forbids keyctl and no Secret Service runs, none can):
# otherwise every docker login would fail with "error storing credentials".
# This first call also chooses the keyring and records the choice.
if probe=$("$helper" list 2>&1); then
	keyring=1
else
	keyring=0
fi
if [ "$keyring" = 1 ] || [ "$configure" = 1 ]; then
	PATH="$bindir:$PATH" "$helper" configure
else
	cat >&2 <<EOF
install.sh: no keyring can be used here, so docker and the other clients were left as they are:
  $probe
Run ./install.sh --configure to wire them anyway.
EOF
fi
echo
echo "docker-credential-regcred doctor:"
"$helper" doctor || true
if [ "$keyring" = 1 ]; then
	echo
	echo "next: docker login REGISTRY, then kubectl regcred export -n NAMESPACE"
fi
