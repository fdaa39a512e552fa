# isolated-go.sh — sourced by the scripts that build tools once into
# ~/.cache/regcred (kube-apiserver and friends, helm and oras, GoReleaser and
# syft). isolated_go SCRATCH ARGS… runs go with a build cache and a module
# cache of its own under SCRATCH, which the caller removes after: those tools'
# thousands of dependencies (cloud SDKs, all of Kubernetes) are compiled and
# downloaded once per tool version, and kept in neither of the machine's Go
# caches, which they would otherwise grow by gigabytes. (Module files are
# made writable, -modcacherw, so that SCRATCH can simply be removed.)
isolated_go() {
	scratch=$1
	shift
	GOCACHE="$scratch/gocache" GOMODCACHE="$scratch/gomod" GOFLAGS="${GOFLAGS:+$GOFLAGS }-modcacherw" go "$@"
}
