package store

import (
	"os"
	"testing"

	"github.com/regcred/regcred/testenv"
)

// TestMain runs the store's tests — on gnome-keyring, KeePassXC and the
// in-memory keyring — as an ordinary user, as people run regcred, even
// when the tests are run as root (see testenv.MainAsUser).
func TestMain(m *testing.M) { os.Exit(testenv.MainAsUser(m)) }
