# isolated-go.sh — sourced by the scripts that build tools once into
# ~/.cache/regcred (kube-apiserver and friends, helm and oras, GoReleaser and
# syft). isolated_go SCRATCH ARGS… runs go with a build cache and a module
# cache of its own under SCRATCH, which the caller removes after: those tools'
# thousands of dependencies (cloud SDKs, all of Kubernetes) are compiled and
# downloaded once per tool version, and kept in neither of the machine's Go
# caches, which they would otherwise grow by gigabytes. (Module files are
# made writable, -modcacherw, so that SCRATCH can simply be removed.)
#
# The scratch build cache starts as hard links to the machine's entries
# (cp -al; nothing is copied): what is compiled already with the same flags
# — the standard library as lint and the release compile it (CGO_ENABLED=0,
# -trimpath), and the Kubernetes libraries the k8s tools share with the
# plugin — is found there, not compiled again. New entries are new files,
# in the scratch cache only. An entry Go finds it only touches (its time);
# one it cannot use it writes again in place, through the link, with the
# same action's same result. trim.txt, which Go rewrites in place, is not
# linked. Where links cannot be made (another file system), the scratch
# cache starts empty.
isolated_go() {
	scratch=$1
	shift
	if [ ! -d "$scratch/gocache" ]; then
		mkdir -p "$scratch"
		main=$(go env GOCACHE)
		if [ -d "$main" ] && cp -al "$main" "$scratch/gocache" 2>/dev/null; then
			rm -f "$scratch/gocache/trim.txt"
		else
			rm -rf "$scratch/gocache"
		fi
	fi
	GOCACHE="$scratch/gocache" GOMODCACHE="$scratch/gomod" GOFLAGS="${GOFLAGS:+$GOFLAGS }-modcacherw" go "$@"
}
