package helper_test

import (
	"strings"
	"testing"
	"time"

	"github.com/regcred/regcred/internal/testenv"
)

// TestClosedProviderFailsInTime: KeePassXC with its database locked and
// KWallet with its wallet closed answer an unlock with a prompt nobody
// here answers. Every verb then fails within REGCRED_TIMEOUT, in one line
// that names that provider's fix — not gnome-keyring's.
func TestClosedProviderFailsInTime(t *testing.T) {
	tests := []struct {
		provider testenv.Provider
		want     string
	}{
		{testenv.KeePassXC, "KeePassXC did not answer in time (it may be waiting for you to unlock its database or confirm access): unlock it, or raise REGCRED_TIMEOUT (waited 2s)"},
		{testenv.KWallet, "KWallet did not answer in time (it may be asking for the wallet's password): open the wallet, or raise REGCRED_TIMEOUT (waited 2s)"},
	}
	for _, tt := range tests {
		t.Run(string(tt.provider), func(t *testing.T) {
			s := testenv.StartProviderModeT(t, tt.provider, testenv.Locked)
			e := &env{t: t, kr: s, session: s, vars: s.EnvMap(), bin: helperBin()}
			e.vars["REGCRED_TIMEOUT"] = "2s"
			for _, v := range []struct{ verb, in, prefix string }{
				{"store", storeJSON("closed.example", "u", "s"), "store closed.example: "},
				{"get", "closed.example", "read closed.example: "},
				{"erase", "closed.example", "erase closed.example: "},
				{"list", "", "list: "},
			} {
				start := time.Now()
				r := e.run(v.in, v.verb)
				took := time.Since(start)
				if r.code != 1 || r.stdout != v.prefix+tt.want+"\n" || r.stderr != "" {
					t.Errorf("%s: exit %d, stdout %q, stderr %q; want exit 1 and %q", v.verb, r.code, r.stdout, r.stderr, v.prefix+tt.want)
				}
				if took > 4*time.Second {
					t.Errorf("%s took %v with REGCRED_TIMEOUT=2s", v.verb, took.Round(time.Millisecond))
				}
				if strings.Contains(r.stdout, "gnome-keyring") {
					t.Errorf("%s names gnome-keyring's fix: %q", v.verb, r.stdout)
				}
			}
		})
	}
}
