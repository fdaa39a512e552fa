package testenv

import (
	"fmt"
	"os"
)

// EnvE2E names the variable that turns on the black-box suites: the
// packages under e2e/ and the demo's test, which build the binaries and
// start real components (clusters, a node, Wine, the release). `make ci`
// sets it; CI=true turns them on as well.
const EnvE2E = "REGCRED_E2E"

// E2E reports whether the black-box suites run: REGCRED_E2E=1, or CI.
// Without it `make test` still compiles them (vet, staticcheck and gopls
// read them) but runs none.
func E2E() bool { return os.Getenv(EnvE2E) == "1" || InCI() }

// gate runs main when the black-box suites are on, and otherwise says on
// stderr how to run them and runs nothing.
func gate(main func() int) int {
	if !E2E() {
		fmt.Fprintf(os.Stderr, "black-box suite not run: set %s=1 (make ci or make e2e runs it)\n", EnvE2E)
		return 0
	}
	return main()
}

// MainE2E is the TestMain body of a black-box suite that needs nothing
// built first: it runs the tests only when E2E says so.
func MainE2E(m interface{ Run() int }) int { return gate(m.Run) }
