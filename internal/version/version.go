// Package version holds the build's version string.
package version

import "runtime/debug"

// Version is set at build time with -ldflags "-X <Symbol>=1.2.3"
// (scripts/version.sh --ldflags prints the flag every build uses). It is
// a variable only because -X can set nothing else.
var Version = ""

// Module is this project's module path, printed by `version`.
const Module = "github.com/regcred/regcred"

// Symbol is Version's name for the linker's -X.
const Symbol = Module + "/internal/version.Version"

// String returns Version, or else the module version recorded in the
// binary's build information (set by `go install module@version`), or
// "(devel)".
func String() string { return resolve(Version, debug.ReadBuildInfo) }

// resolve is String with its sources passed in.
func resolve(stamped string, buildInfo func() (*debug.BuildInfo, bool)) string {
	if stamped != "" {
		return stamped
	}
	if bi, ok := buildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(devel)"
}
