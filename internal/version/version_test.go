package version

import (
	"runtime/debug"
	"testing"
)

func TestResolve(t *testing.T) {
	info := func(v string, ok bool) func() (*debug.BuildInfo, bool) {
		return func() (*debug.BuildInfo, bool) { return &debug.BuildInfo{Main: debug.Module{Version: v}}, ok }
	}
	tests := []struct {
		name, stamped string
		buildInfo     func() (*debug.BuildInfo, bool)
		want          string
	}{
		{"-X wins", "v1.2.3", info("v9.9.9", true), "v1.2.3"},
		{"go install module@version", "", info("v1.4.0", true), "v1.4.0"},
		{"a build from a clone", "", info("", true), "(devel)"},
		{"no build information", "", info("v1.4.0", false), "(devel)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := resolve(tt.stamped, tt.buildInfo); got != tt.want {
				t.Errorf("resolve = %q, want %q", got, tt.want)
			}
		})
	}
}
