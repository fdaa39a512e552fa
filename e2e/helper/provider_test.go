package helper_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/regcred/regcred/testenv/launch"

	"github.com/regcred/regcred/testenv"
)

// TestClosedProviderFailsInTime: KeePassXC with its database locked and
// KWallet with its wallet closed answer an unlock with a prompt nobody
// here answers. Every verb then fails within REGCRED_TIMEOUT, in one line
// that names that provider's fix — not gnome-keyring's.
func TestClosedProviderFailsInTime(t *testing.T) {
	tests := []struct {
		provider launch.Provider
		want     string
	}{
		{launch.KeePassXC, "KeePassXC did not answer in time (it may be waiting for you to unlock its database or confirm access): unlock it, or raise REGCRED_TIMEOUT (waited 2s)"},
		{launch.KWallet, "KWallet did not answer in time (it may be asking for the wallet's password): open the wallet, or raise REGCRED_TIMEOUT (waited 2s)"},
	}
	for _, tt := range tests {
		t.Run(string(tt.provider), func(t *testing.T) {
			t.Parallel() // each provider is its own
			e := newProviderEnv(t, tt.provider, launch.Locked)
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

// TestKeePassXCOutlivesItsSaves: KeePassXC saves its database in a thread
// 150 ms after a change, and a change that lands during the save can crash
// it. Logins in quick succession land there unless regcred keeps its
// writes out of the save: 40 stores, each started 20 to 110 ms after the
// last ended (before regcred waited for saves, 2.7.4 crashed in 4 of 8
// such runs), then chunked stores, a burst of 9 item writes each. After
// all of them KeePassXC still runs and holds every credential. As root,
// regcred sees the saves in KeePassXC's open files; as its own user, who
// cannot look into an undumpable KeePassXC, it sees them end in the
// database file — there on KeePassXC's defaults (a 1 s key derivation,
// access confirmed by the person, here answered).
func TestKeePassXCOutlivesItsSaves(t *testing.T) {
	for _, asUser := range []bool{false, true} {
		t.Run(map[bool]string{false: "root", true: "user"}[asUser], func(t *testing.T) {
			t.Parallel() // two KeePassXCs: the saves each must outlive are its own
			var e *env
			if asUser {
				e = newProviderEnv(t, launch.KeePassXC, launch.Defaults)
			} else {
				s := testenv.StartProviderT(t, launch.KeePassXC)
				e = &env{t: t, kr: s, session: s, vars: s.EnvMap(), bin: helperBin()}
			}
			outlivesSaves(t, e, asUser)
		})
	}
}

func outlivesSaves(t *testing.T, e *env, confirm bool) {
	s := e.session
	want := map[string]string{}
	// On the default key derivation each save takes a second, so fewer
	// stores there meet as many saves in flight.
	stores, chunked := 40, 6
	if confirm {
		stores, chunked = 15, 2
	}
	for i := range stores {
		server := fmt.Sprintf("paced%02d.example", i)
		want[server] = fmt.Sprintf("secret-%d", i)
		if r := e.run(storeJSON(server, "u", want[server]), "store"); r.code != 0 {
			t.Fatalf("store %s: exit %d %s (KeePassXC running: %v)", server, r.code, r.stdout, s.Alive())
		}
		time.Sleep(time.Duration(20+i*37%90) * time.Millisecond)
	}
	e.vars["REGCRED_ITEM_LIMIT"] = "512"
	for i := range chunked {
		server := fmt.Sprintf("chunked%d.example", i)
		want[server] = strings.Repeat(fmt.Sprintf("%d-secret.", i), 400) // 8 chunks and a head
		if r := e.run(storeJSON(server, "u", want[server]), "store"); r.code != 0 {
			t.Fatalf("store %s: exit %d %s (KeePassXC running: %v)", server, r.code, r.stdout, s.Alive())
		}
	}
	if !s.Alive() {
		t.Fatal("KeePassXC is gone")
	}
	for server, secret := range want {
		var r result
		if confirm {
			r = e.allowing(server, "get")
		} else {
			r = e.run(server, "get")
		}
		if r.code != 0 || !strings.Contains(r.stdout, `"Secret":"`+secret+`"`) {
			t.Errorf("get %s: exit %d %.80s", server, r.code, r.stdout)
		}
	}
}
