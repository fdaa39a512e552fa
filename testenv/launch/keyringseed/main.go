// Command keyringseed writes keyring items exactly as regcred versions 1
// and 2 did — through go-keyring, under the regcred service — so that tests
// can check their migration on a real keyring (Wine's Credential Manager
// among them). It reads "account<TAB>data" lines on stdin. Tests only.
package main

import (
	"bufio"
	"fmt"
	"os"
	"strings"

	"github.com/regcred/regcred/store/keyring"

	gokeyring "github.com/zalando/go-keyring"
)

func main() {
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		account, data, ok := strings.Cut(sc.Text(), "\t")
		if !ok {
			continue
		}
		if err := gokeyring.Set(keyring.Service, account, data); err != nil {
			fmt.Fprintf(os.Stderr, "keyringseed: %s: %v\n", account, err)
			os.Exit(1)
		}
	}
}
