#!/bin/sh
# deps.sh — make sure the real components the tests start are installed.
# As root on Debian it installs the missing packages; otherwise it names them
# and fails, so a missing component is never silently skipped.
set -eu

# command:package pairs.
need="dbus-daemon:dbus gnome-keyring-daemon:gnome-keyring secret-tool:libsecret-tools keyctl:keyutils setpriv:util-linux chrt:util-linux
keepassxc:keepassxc keepassxc-cli:keepassxc kwalletd5:libkf5wallet-bin Xvfb:xvfb xdotool:xdotool openbox:openbox xprop:x11-utils
/usr/lib/x86_64-linux-gnu/qca-qt5/crypto/libqca-ossl.so:libqca-qt5-2-plugins
docker-registry:docker-registry htpasswd:apache2-utils etcd:etcd-server
pkg-config:pkg-config pass:pass gpg:gnupg /usr/bin/time:time strace:strace dbus-monitor:dbus-bin
/usr/lib/wine/wine64:wine64 x86_64-w64-mingw32-gcc:gcc-mingw-w64-x86-64-win32
containerd:containerd ctr:containerd runc:runc ip:iproute2 unshare:util-linux
podman:podman buildah:buildah skopeo:skopeo
rpm:rpm sha256sum:coreutils dpkg:dpkg"
# keepassxc and kwalletd5 are the Secret Service providers beside gnome-keyring
# (KeePassXC on its defaults asks a person, on an Xvfb display managed by
# openbox, and xdotool answers);
# (KWallet needs QCA's OpenSSL plugin for the encrypted sessions libsecret,
# and so the upstream helper the benchmarks compare with, opens);
# wine64 and MinGW run the Windows build against a real Credential Manager;
# containerd, runc and iproute2 a real node (in a namespace of its own);
# podman, buildah and skopeo are clients configure wires (helm and oras,
# which Debian does not package, come from scripts/client-tools.sh);
# rpm reads the release's .rpm (dpkg installs the .deb into a throw-away root).
# Headers for building the upstream secretservice helper (benchmarks, import tests).
headers="/usr/include/libsecret-1/libsecret/secret.h:libsecret-1-dev"

missing=""
for pair in $need $headers; do
	thing=${pair%%:*} pkg=${pair##*:}
	case $thing in
	/*) [ -e "$thing" ] || missing="$missing $pkg" ;;
	*) command -v "$thing" >/dev/null 2>&1 || missing="$missing $pkg" ;;
	esac
done
# One package can provide several of the things above: name it once.
once=""
for pkg in $missing; do
	case " $once " in *" $pkg "*) ;; *) once="$once $pkg" ;; esac
done
missing=$once
command -v docker >/dev/null 2>&1 || missing="$missing docker.io"

[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
	echo "deps: installing$missing" >&2
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq$missing >/dev/null
	exit 0
fi
echo "deps: missing Debian packages:$missing" >&2
echo "deps: install them with: sudo apt-get install$missing" >&2
exit 1
