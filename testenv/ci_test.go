package testenv

import "testing"

// TestInCI: every way CI systems say so counts, so that under CI nothing
// real is skipped.
func TestInCI(t *testing.T) {
	for v, want := range map[string]bool{"true": true, "1": true, "TRUE": true, "woodpecker": true, "": false, "0": false, "false": false, "False": false} {
		t.Setenv("CI", v)
		if got := InCI(); got != want {
			t.Errorf("CI=%q: InCI() = %v, want %v", v, got, want)
		}
	}
}
