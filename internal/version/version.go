// Package version holds the build's version string.
package version

import "runtime/debug"

// Version is set at build time with
// -ldflags "-X github.com/regcred/regcred/internal/version.Version=v1.2.3".
// It is a variable only because -X can set nothing else.
var Version = ""

// Module is this project's module path, printed by `version`.
const Module = "github.com/regcred/regcred"

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
