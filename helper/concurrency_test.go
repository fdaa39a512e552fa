package helper_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/regcred/regcred/internal/testenv"
	"github.com/regcred/regcred/store"
)

// TestConcurrentStoresLoseNothing starts 100 store processes for distinct
// registries at once: every one must be listed and readable.
func TestConcurrentStoresLoseNothing(t *testing.T) {
	e := newEnv(t, testenv.Unlocked)
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
}

// TestRacingStoreAndErase runs 20 processes storing (chunked) and erasing
// one registry at once. Afterwards list and get agree, the value is one
// that was written, and no chunk is left over.
func TestRacingStoreAndErase(t *testing.T) {
	for round := range 3 {
		t.Run(fmt.Sprint("round ", round), func(t *testing.T) {
			e := newEnv(t, testenv.Unlocked)
			e.vars["REGCRED_ITEM_LIMIT"] = "512"
			const server = "race.example"
			written := map[string]string{}
			var wg sync.WaitGroup
			for i := range 20 {
				user, secret := fmt.Sprintf("user%d", i), strings.Repeat(fmt.Sprintf("%02d", i), 700+i*50)
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
			wg.Wait()
			list := e.list()
			r := e.run(server, "get")
			items, _ := e.session.Items(store.Service)
			if r.code != 0 {
				if len(list) != 0 || len(items) != 0 {
					t.Errorf("get says not found, but list = %v and the keyring holds %d items", list, len(items))
				}
				return
			}
			var c struct{ Username, Secret string }
			if err := json.Unmarshal([]byte(r.stdout), &c); err != nil {
				t.Fatal(err)
			}
			if written[c.Secret] != c.Username {
				t.Errorf("get returned %q with a %d-byte secret that no process wrote together", c.Username, len(c.Secret))
			}
			if list[server] != c.Username || len(list) != 1 {
				t.Errorf("list %v disagrees with get %q", list, c.Username)
			}
			// The head and exactly its own chunks: nothing left over.
			chunks := slices.DeleteFunc(items, func(s string) bool { return s == server })
			want := (len(c.Secret)+40)/512 + 1
			if len(chunks) < want-1 || len(chunks) > want+1 || len(items) != len(chunks)+1 {
				t.Errorf("keyring holds %d items for one %d-byte secret: %q", len(items), len(c.Secret), items)
			}
			gens := map[string]bool{}
			for _, ch := range chunks {
				gens[strings.Split(ch, ":")[1]] = true
			}
			if len(gens) != 1 {
				t.Errorf("chunks of %d generations remain, want only the live one: %q", len(gens), chunks)
			}
		})
	}
}
