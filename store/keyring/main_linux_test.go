package keyring

import (
	"os"
	"testing"

	"github.com/regcred/regcred/testenv"
)

// TestMain runs the keyrings' tests as an ordinary user, as people run
// regcred, even when the tests are run as root (see testenv.MainAsUser).
func TestMain(m *testing.M) { os.Exit(testenv.MainAsUser(m)) }
