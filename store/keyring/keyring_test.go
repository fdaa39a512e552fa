package keyring

import (
	"strings"
	"testing"
)

// chunkPrefixFormat is a Format whose chunk accounts start "regcred-chunk:",
// as the store's do.
type chunkPrefixFormat struct{}

func (chunkPrefixFormat) IsChunk(account string) bool {
	return strings.HasPrefix(account, "regcred-chunk:")
}
func (chunkPrefixFormat) LabelOf(string) Label { return Label{} }

func TestAccountOf(t *testing.T) {
	chunk := "regcred-chunk:0123456789abcdef0123456789abcdef:3"
	tests := []struct {
		text, account string
		label         Label
		ok            bool
	}{
		{LabelText("docker.io", Label{"https://index.docker.io/v1/", "alice"}), "docker.io", Label{"https://index.docker.io/v1/", "alice"}, true},
		{LabelText("r.example:5000/ns", Label{"R.Example:5000/NS", "bob"}), "r.example:5000/ns", Label{"R.Example:5000/NS", "bob"}, true},
		{LabelText(chunk, Label{}), chunk, Label{}, true},
		{"Password for 'docker.io' on 'docker-credential-regcred'", "", Label{}, false},
	}
	for _, tt := range tests {
		account, l, ok := accountOf(chunkPrefixFormat{}, tt.text)
		if account != tt.account || l != tt.label || ok != tt.ok {
			t.Errorf("accountOf(%q) = %q, %+v, %v; want %q, %+v, %v", tt.text, account, l, ok, tt.account, tt.label, tt.ok)
		}
	}
}
