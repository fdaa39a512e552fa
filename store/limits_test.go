package store

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// recordingKeyring is an in-memory keyring that applies a backend's limit
// to every write, as the real one would and Wine does not.
type recordingKeyring struct {
	items map[string]string
	stamp string
	check func(account, data string) error
}

func (k *recordingKeyring) Get(_ context.Context, a string) (string, error) {
	if v, ok := k.items[a]; ok {
		return v, nil
	}
	return "", ErrNotFound
}

func (k *recordingKeyring) Set(_ context.Context, a, v string) error {
	if err := k.check(a, v); err != nil {
		return err
	}
	k.items[a] = v
	return nil
}

func (k *recordingKeyring) Delete(_ context.Context, a string) error {
	if _, ok := k.items[a]; !ok {
		return ErrNotFound
	}
	delete(k.items, a)
	return nil
}

func (k *recordingKeyring) Items(context.Context) (map[string]string, error) {
	return nil, errors.ErrUnsupported
}
func (k *recordingKeyring) Stamp(context.Context) (string, error)      { return k.stamp, nil }
func (k *recordingKeyring) SetStamp(_ context.Context, s string) error { k.stamp = s; return nil }

// TestBackendLimits stores the largest credentials regcred accepts — a
// secret near the protocol's 64 KiB line limit, under the longest address
// it accepts — with each backend's item limit, against that backend's real
// constraint: every write must fit, and the credential must come back.
func TestBackendLimits(t *testing.T) {
	longAddress := "registry.example:5000/" + strings.Repeat("a", maxServerURLLen-len("registry.example:5000/"))
	tests := []struct {
		name  string
		limit int
		check func(account, data string) error
	}{
		{"Windows Credential Manager", credentialManagerItemLimit, func(account, data string) error {
			// go-keyring refuses blobs over 2560 bytes (ErrSetDataTooBig), as Windows does.
			if len(data) > 2560 {
				return fmt.Errorf("blob of %d bytes", len(data))
			}
			return nil
		}},
		{"macOS Keychain", keychainItemLimit, func(account, data string) error {
			// go-keyring's `security -i` command line, which must stay within 4096 bytes.
			line := fmt.Sprintf("add-generic-password -U -s '%s' -a '%s' -w 'go-keyring-base64:%s'\n",
				Service, account, base64.StdEncoding.EncodeToString([]byte(data)))
			if len(line) > 4096 {
				return fmt.Errorf("security command of %d bytes", len(line))
			}
			return nil
		}},
		{"Secret Service", secretServiceItemLimit, func(account, data string) error {
			if len(data) > secretServiceItemLimit {
				return fmt.Errorf("item of %d bytes", len(data))
			}
			return nil
		}},
	}
	for _, tt := range tests {
		for _, server := range []string{"r.example", longAddress} {
			t.Run(fmt.Sprintf("%s/%d-byte address", tt.name, len(server)), func(t *testing.T) {
				k := &recordingKeyring{items: map[string]string{}, check: tt.check}
				st, err := New(Config{Dir: t.TempDir(), ItemLimit: tt.limit, Keyring: k})
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
			})
		}
	}
}
