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

// TestE2E: the black-box suites run with REGCRED_E2E=1, or under CI unless
// REGCRED_E2E=0.
func TestE2E(t *testing.T) {
	for _, tt := range []struct {
		ci, e2e string
		want    bool
	}{{"", "", false}, {"", "1", true}, {"", "0", false}, {"true", "", true}, {"true", "0", false}, {"true", "1", true}, {"false", "1", true}} {
		t.Setenv("CI", tt.ci)
		t.Setenv(EnvE2E, tt.e2e)
		if got := E2E(); got != tt.want {
			t.Errorf("CI=%q %s=%q: E2E() = %v, want %v", tt.ci, EnvE2E, tt.e2e, got, tt.want)
		}
	}
}
