package version

import (
	"runtime/debug"
	"testing"
)

func TestString(t *testing.T) {
	saved := Version
	defer func() { Version = saved }()

	Version = "v1.2.3"
	if got := String(); got != "v1.2.3" {
		t.Errorf("with -X set: %q", got)
	}
	Version = ""
	want := "(devel)"
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		want = bi.Main.Version
	}
	if got := String(); got != want {
		t.Errorf("without -X: %q, want the build info's %q", got, want)
	}
}
