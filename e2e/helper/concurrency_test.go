package helper_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/regcred/regcred/store/keyring"
)

// TestConcurrentStoresLoseNothing starts 100 store processes for distinct
// registries at once: every one must be listed and readable.
func TestConcurrentStoresLoseNothing(t *testing.T) {
	onEach(t, func(t *testing.T, e *env) {
		const n = 100
		var wg sync.WaitGroup
		results := make([]result, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				results[i] = e.run(storeJSON(fmt.Sprintf("c%03d.example", i), fmt.Sprintf("user%d", i), fmt.Sprintf("secret%d", i)), "store")
			}()
		}
		wg.Wait()
		for i, r := range results {
			if r.code != 0 {
				t.Errorf("store %d: exit %d %s", i, r.code, r.stdout)
			}
		}
		list := e.list()
		if len(list) != n {
			t.Fatalf("list has %d entries after %d concurrent stores", len(list), n)
		}
		for i := range n {
			r := e.run(fmt.Sprintf("c%03d.example", i), "get")
			if !strings.Contains(r.stdout, fmt.Sprintf(`"Secret":"secret%d"`, i)) {
				t.Errorf("get c%03d.example: %s", i, r.stdout)
			}
		}
	})
}

// TestRacingStoreAndErase runs 20 processes storing (chunked) and erasing
// one registry at once, while a reader keeps reading it. Every credential
// the reader sees is one a process wrote, whole; at least one is seen
// (a store that did nothing would show none); afterwards list and get
// agree, and only the live chunk slot is left.
func TestRacingStoreAndErase(t *testing.T) {
	onEach(t, func(t *testing.T, e *env) {
		// Secrets of 1.4 to 3.3 KB, in 3 to 7 chunks. Not on the kernel
		// keyring, whose items hold 32 KB: forced chunks there would need
		// room for two chunk slots and the keys invalidated but not yet
		// collected, more than its default quota for a user (20000 bytes).
		limit := 512
		if e.session == nil { // the kernel keyring
			limit = 32767
		} else {
			e.forceChunks(limit)
		}
		const server = "race.example"
		seen := 0
		written := map[string]string{} // by every round: a read may see the last round's
		for round := range 3 {
			var wg sync.WaitGroup
			for i := range 20 {
				user, secret := fmt.Sprintf("user%d", i), strings.Repeat(fmt.Sprintf("%02d-%d", i, round), 350+i*25)
				if i%3 != 2 {
					written[secret] = user
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					var r result
					if i%3 == 2 {
						r = e.run(server, "erase")
					} else {
						r = e.run(storeJSON(server, user, secret), "store")
					}
					if r.code != 0 {
						t.Errorf("process %d: %s", i, r.stdout)
					}
				}()
			}
			done := make(chan struct{})
			read := make(chan int)
			go func() { // the reader: a docker pull during the logins
				n := 0
				for {
					select {
					case <-done:
						read <- n
						return
					default:
					}
					r := e.run(server, "get")
					if r.code != 0 {
						if r.stdout != "credentials not found in native keychain\n" {
							t.Errorf("get during the race: %s", r.stdout)
						}
						continue
					}
					var c struct{ Username, Secret string }
					if json.Unmarshal([]byte(r.stdout), &c) != nil || written[c.Secret] != c.Username {
						t.Errorf("get during the race returned %q with a %d-byte secret no process wrote together", c.Username, len(c.Secret))
					}
					n++
				}
			}()
			wg.Wait()
			close(done)
			seen += <-read
			list := e.list()
			r := e.run(server, "get")
			items, err := e.kr.Items(keyring.Service)
			if err != nil {
				t.Fatal(err)
			}
			if r.code != 0 {
				if len(list) != 0 || len(items) != 0 {
					t.Errorf("round %d: get says not found, but list = %v and the keyring holds %d items", round, list, len(items))
				}
				continue
			}
			var c struct{ Username, Secret string }
			if err := json.Unmarshal([]byte(r.stdout), &c); err != nil {
				t.Fatal(err)
			}
			if written[c.Secret] != c.Username {
				t.Errorf("round %d: get returned %q with a %d-byte secret that no process wrote together", round, c.Username, len(c.Secret))
			}
			if list[server] != c.Username || len(list) != 1 {
				t.Errorf("round %d: list %v disagrees with get %q", round, list, c.Username)
			}
			// The item and the chunks of its one slot: nothing left over.
			chunks := slices.DeleteFunc(items, func(s string) bool { return s == server })
			want := (len(c.Secret)+40)/limit + 1
			if limit > len(c.Secret)+60 {
				want = 0
			}
			if len(chunks) < want-1 || len(chunks) > want+1 || len(items) != len(chunks)+1 {
				t.Errorf("round %d: keyring holds %d items for one %d-byte secret: %q", round, len(items), len(c.Secret), items)
			}
			slotsUsed := map[string]bool{}
			for _, ch := range chunks {
				slotsUsed[strings.Split(ch, ":")[2]] = true
			}
			if len(slotsUsed) != min(1, want) {
				t.Errorf("round %d: chunks of %d slots remain, want only the live one: %q", round, len(slotsUsed), chunks)
			}
		}
		if seen == 0 {
			t.Error("the reader never saw a credential in three rounds of 13 stores: did any store happen?")
		}
		t.Logf("the reader saw %d whole credentials during the races", seen)
	})
}
