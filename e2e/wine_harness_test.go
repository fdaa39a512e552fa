package e2e

import (
	"os"
	"testing"

	"github.com/regcred/regcred/testenv"
	"github.com/regcred/regcred/testenv/launch"
)

// TestWineStartsAndLeavesNothing: a prefix's wineserver is listening before
// anything else of Wine starts (Debian's Wine makes its directory under
// /tmp with mkdtemp, and a client that comes first makes one of its own and
// fails), and Stop leaves no process of the prefix and no directory of its
// server under /tmp.
func TestWineStartsAndLeavesNothing(t *testing.T) {
	if err := launch.WineAvailable(); err != nil {
		testenv.Unavailable(t, err)
	}
	w, err := launch.StartWine(t.TempDir())
	if err != nil {
		testenv.Unavailable(t, err)
	}
	dir := w.ServerDir()
	if dir == "" {
		w.Stop()
		t.Fatal("no wineserver directory recorded in the prefix")
	}
	if _, err := os.Stat(dir); err != nil {
		w.Stop()
		t.Fatalf("the server's directory: %v", err)
	}
	w.Stop()
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("%s left behind after Stop (%v)", dir, err)
	}
	if left := launch.ProcessesWithEnv("WINEPREFIX=" + w.Prefix); len(left) > 0 {
		t.Errorf("processes of the prefix left: %v", left)
	}
}
