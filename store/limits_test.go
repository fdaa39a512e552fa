package store

import (
	"context"
	"encoding/base64"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/regcred/regcred/store/address"
	"github.com/regcred/regcred/store/keyring"
)

// TestBackendLimits stores the largest credentials regcred accepts — a
// secret near the protocol's 64 KiB line limit, under the longest address
// it accepts — with each backend's item limit, against that backend's own
// constraint, written here as the platform documents it and not taken from
// the code under test: every write must fit, and the credential must come
// back. (Wine and the test machines enforce none of these.)
func TestBackendLimits(t *testing.T) {
	longAddress := "registry.example:5000/" + strings.Repeat("a", address.MaxLen-len("registry.example:5000/"))
	tests := []struct {
		name  string
		limit int
		check func(account string, label keyring.Label, data string) error
	}{
		{"Windows Credential Manager", keyring.CredentialManagerItemLimit, func(account string, label keyring.Label, data string) error {
			// CRED_MAX_CREDENTIAL_BLOB_SIZE (5 × 512 bytes), CRED_MAX_GENERIC_TARGET_NAME_LENGTH.
			if len(data) > 5*512 || utf8.RuneCountInString(keyring.Service+":"+account) > 32767 {
				return fmt.Errorf("blob of %d bytes, target of %d", len(data), len(account))
			}
			return nil
		}},
		{"macOS Keychain", keyring.KeychainItemLimit, func(account string, _ keyring.Label, data string) error {
			// go-keyring's `security -i` command line, which must stay within 4096 bytes.
			line := fmt.Sprintf("add-generic-password -U -s '%s' -a '%s' -w 'go-keyring-base64:%s'\n",
				keyring.Service, account, base64.StdEncoding.EncodeToString([]byte(data)))
			if len(line) > 4096 {
				return fmt.Errorf("security command of %d bytes", len(line))
			}
			return nil
		}},
	}
	for _, tt := range tests {
		for _, server := range []string{"r.example", longAddress} {
			t.Run(fmt.Sprintf("%s/%d-byte address", tt.name, len(server)), func(t *testing.T) {
				k := keyring.NewMemory()
				k.Check = tt.check
				st, err := New(Config{LockPath: filepath.Join(t.TempDir(), "lock"), ItemLimit: tt.limit, Keyring: k})
				if err != nil {
					t.Fatal(err)
				}
				for _, size := range []int{10, tt.limit - 100, 60 << 10} {
					c := Credential{ServerURL: server, Username: strings.Repeat("u", 100), Secret: strings.Repeat("€", size/3)}
					if err := st.Put(context.Background(), c); err != nil {
						t.Fatalf("store of a %d-byte secret: %v", len(c.Secret), err)
					}
					got, err := st.Get(context.Background(), server)
					if err != nil || got != c {
						t.Fatalf("get of a %d-byte secret: %v", len(c.Secret), err)
					}
				}
				if k.Sets() < 3 {
					t.Errorf("only %d keyring writes: the constraint was hardly exercised", k.Sets())
				}
			})
		}
	}
}

// TestLongUsernameFailsBeforeWriting: a head repeats the address and
// username, so a username too long for one item with a secret that needs
// chunks is refused before any chunk is written (issue: Put used to fail
// at the head, after every chunk).
func TestLongUsernameFailsBeforeWriting(t *testing.T) {
	k := keyring.NewMemory()
	k.Check = func(_ string, _ keyring.Label, data string) error {
		if len(data) > 5*512 {
			return fmt.Errorf("blob of %d bytes", len(data))
		}
		return nil
	}
	st, err := New(Config{LockPath: filepath.Join(t.TempDir(), "lock"), ItemLimit: keyring.CredentialManagerItemLimit, Keyring: k})
	if err != nil {
		t.Fatal(err)
	}
	err = st.Put(context.Background(), Credential{ServerURL: "r.example", Username: strings.Repeat("u", 2600), Secret: strings.Repeat("s", 4000)})
	if err == nil || !strings.Contains(err.Error(), "more than one keyring item holds here (2560") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("Put = %v, want one line saying the address and username do not fit", err)
	}
	if k.Sets() != 0 || len(k.Snapshot()) != 0 {
		t.Errorf("the refused store wrote %d items", k.Sets())
	}
}
