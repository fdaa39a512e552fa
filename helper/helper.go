// Package helper speaks docker's credential-helper protocol (store, get,
// erase, list, version) on top of the keyring store. The wire format is
// docker-credential-helpers' own credentials package; this package adds the
// input checks that keep bad input from changing anything and translates
// store errors into the exact strings docker matches.
package helper

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/docker/docker-credential-helpers/credentials"

	"github.com/regcred/regcred/internal/oneline"
	"github.com/regcred/regcred/store"
	"github.com/regcred/regcred/store/address"
	"github.com/regcred/regcred/store/wsl"
)

// Name is the helper's binary name; docker finds it as docker-credential-<credsStore>.
const Name = "docker-credential-regcred"

// MaxInput bounds what a protocol call reads from stdin. Real credentials
// (cloud tokens included) are a few KiB.
const MaxInput = 1 << 20

// Opener opens the credential store under ctx. A Helper calls it when a
// verb first needs the keyring, so `version`, usage errors and input the
// protocol refuses never touch it.
type Opener func(ctx context.Context) (*store.Store, error)

// Usage is the upstream helpers' usage line for this helper.
func Usage() string {
	return fmt.Sprintf("Usage: %s <store|get|erase|list|version>", Name)
}

// IsProtocolVerb reports whether verb is one of the credsStore protocol's.
func IsProtocolVerb(verb string) bool {
	switch verb {
	case credentials.ActionStore, credentials.ActionGet, credentials.ActionErase,
		credentials.ActionList, credentials.ActionVersion:
		return true
	}
	return false
}

// verbHelp is each protocol verb's --help: what docker sends and gets.
var verbHelp = map[string]string{
	credentials.ActionStore: `Store a credential in the OS keyring, replacing any for that registry.

Examples:
  # docker login calls it, with the secret on stdin (never in argv or shell history)
  docker login registry.example.com

Usage:
  docker-credential-regcred store < {"ServerURL","Username","Secret"}
`,
	credentials.ActionGet: `Print the credential for a registry address, or "credentials not found in native keychain" (exit 1).

Examples:
  # What docker does before a pull
  echo registry.example.com | docker-credential-regcred get

Usage:
  docker-credential-regcred get < ADDRESS
`,
	credentials.ActionErase: `Erase the credential for a registry address; an unknown one is not an error.

Examples:
  # What docker logout does
  echo registry.example.com | docker-credential-regcred erase

Usage:
  docker-credential-regcred erase < ADDRESS
`,
	credentials.ActionList: `Print {"address": "username", …} for every stored credential (never secrets).

Examples:
  docker-credential-regcred list

Usage:
  docker-credential-regcred list
`,
	credentials.ActionVersion: `Print the helper's name, module and version.

Examples:
  docker-credential-regcred version

Usage:
  docker-credential-regcred version
`,
}

// Run executes one protocol call, as credentials.Serve would, and returns
// the exit code. args are the arguments after the program name. Errors go to
// stdout with exit code 1, because that is where docker reads them;
// stderr gets diagnostics only.
func Run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, open Opener) int {
	if len(args) == 0 {
		fmt.Fprintln(stdout, Usage())
		return 1
	}
	switch args[0] {
	case "--version", "-v":
		_ = credentials.PrintVersion(stdout)
		return 0
	case "--help", "-h":
		fmt.Fprintln(stdout, Usage())
		return 0
	}
	if !IsProtocolVerb(args[0]) {
		// Upstream's message and the usage, on the one line docker shows.
		fmt.Fprintf(stdout, "%s: unknown action: %s. %s\n", Name, printable(args[0]), Usage())
		return 1
	}
	if len(args) == 2 && (args[1] == "--help" || args[1] == "-h") {
		fmt.Fprint(stdout, verbHelp[args[0]])
		return 0
	}
	if len(args) != 1 {
		fmt.Fprintln(stdout, Usage())
		return 1
	}
	if err := handle(ctx, args[0], stdin, stdout, stderr, open); err != nil {
		fmt.Fprintln(stdout, oneline.Error(err))
		return 1
	}
	return 0
}

// handle checks a call's input, then hands it to the credentials package.
func handle(ctx context.Context, action string, stdin io.Reader, stdout, stderr io.Writer, open Opener) error {
	var in io.Reader = strings.NewReader("")
	switch action {
	case credentials.ActionVersion:
		return credentials.PrintVersion(stdout)
	case credentials.ActionStore, credentials.ActionGet, credentials.ActionErase:
		data, err := readInput(stdin)
		if err != nil {
			return err
		}
		switch action {
		case credentials.ActionStore:
			err = checkStoreInput(data)
		case credentials.ActionErase:
			err = checkServerInput(data)
		}
		// get takes any address: one that could never be stored is simply
		// not found (docker treats any other answer to get as fatal).
		if err != nil {
			return err
		}
		in = bytes.NewReader(data)
	}
	// The answer is buffered so that a failing call prints only its error.
	var out bytes.Buffer
	if err := credentials.HandleCommand(&Helper{ctx: ctx, open: open, stderr: stderr}, action, in, &out); err != nil {
		return err
	}
	_, err := stdout.Write(out.Bytes())
	return err
}

// Helper adapts a store.Store to credentials.Helper.
type Helper struct {
	ctx    context.Context
	store  *store.Store
	open   Opener    // opens store when it is nil
	stderr io.Writer // diagnostics; nil: none
}

var _ credentials.Helper = (*Helper)(nil)

// New returns a Helper whose keyring calls run under ctx.
func New(ctx context.Context, s *store.Store) *Helper {
	return &Helper{ctx: ctx, store: s}
}

// opened returns the store, opening it on first use.
func (h *Helper) opened() (*store.Store, error) {
	if h.store == nil {
		s, err := h.open(h.ctx)
		if err != nil {
			return nil, err
		}
		h.store = s
	}
	return h.store, nil
}

// Add stores (or silently replaces) the credential for c.ServerURL.
func (h *Helper) Add(c *credentials.Credentials) error {
	s, err := h.opened()
	if err != nil {
		return err
	}
	return s.Put(h.ctx, store.Credential{ServerURL: c.ServerURL, Username: c.Username, Secret: c.Secret})
}

// Delete erases the credential for serverURL; an unknown server is not an error.
func (h *Helper) Delete(serverURL string) error {
	s, err := h.opened()
	if err != nil {
		return err
	}
	return s.Erase(h.ctx, serverURL)
}

// Get returns the username and secret stored for serverURL or an
// equivalent spelling of it.
func (h *Helper) Get(serverURL string) (string, string, error) {
	s, err := h.opened()
	if err != nil {
		return "", "", err
	}
	c, err := s.Get(h.ctx, serverURL)
	if errors.Is(err, store.ErrNotFound) {
		return "", "", credentials.NewErrCredentialsNotFound()
	}
	if wsl.Unreachable(err) {
		// docker fails a pull on any other answer, public images too:
		// answer as if nothing were stored, and say why where a person
		// reads it (store, erase and list still fail).
		if h.stderr != nil {
			fmt.Fprintf(h.stderr, "%s: answering \"not found\" for %s: %s\n", Name, printable(serverURL), oneline.Error(err))
		}
		return "", "", credentials.NewErrCredentialsNotFound()
	}
	if err != nil {
		return "", "", err
	}
	return c.Username, c.Secret, nil
}

// List returns server → username for every stored credential; never nil.
func (h *Helper) List() (map[string]string, error) {
	s, err := h.opened()
	if err != nil {
		return nil, err
	}
	return s.List(h.ctx)
}

// readInput reads stdin, refusing oversized, non-UTF-8 and NUL-bearing input.
func readInput(r io.Reader) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxInput+1))
	if err != nil {
		return nil, fmt.Errorf("read input: %w", err)
	}
	switch {
	case len(data) > MaxInput:
		return nil, fmt.Errorf("invalid input: larger than %d bytes", MaxInput)
	case !utf8.Valid(data):
		return nil, errors.New("invalid input: not valid UTF-8")
	case bytes.IndexByte(data, 0) >= 0:
		return nil, errors.New("invalid input: contains a NUL byte")
	}
	// The credentials package reads input with a bufio.Scanner, which
	// fails on a line over its token limit with a cryptic message.
	for line := range bytes.Lines(data) {
		if len(line) > bufio.MaxScanTokenSize {
			return nil, fmt.Errorf("invalid input: a line longer than %d bytes (the credential-helper protocol's limit)", bufio.MaxScanTokenSize)
		}
	}
	return data, nil
}

// storeFields are the fields of a store request, as encoding/json matches
// them (case-insensitively).
var storeFields = []string{"ServerURL", "Username", "Secret"}

// checkStoreInput requires exactly one JSON object whose known fields, when
// present, are strings. Missing fields are left to the credentials package,
// which answers with docker's exact messages.
func checkStoreInput(data []byte) error {
	const want = "want one JSON object {\"ServerURL\":…,\"Username\":…,\"Secret\":…}"
	dec := json.NewDecoder(bytes.NewReader(data))
	var obj map[string]json.RawMessage
	if err := dec.Decode(&obj); err != nil || obj == nil {
		return fmt.Errorf("invalid input: %s", want)
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("invalid input: data after the JSON object; %s", want)
	}
	for key, raw := range obj {
		for _, f := range storeFields {
			if strings.EqualFold(key, f) && (len(raw) == 0 || raw[0] != '"') {
				return fmt.Errorf("invalid input: %s must be a string", f)
			}
		}
	}
	return nil
}

// checkServerInput checks the server address sent to erase. An
// empty one is left to the credentials package's exact message.
func checkServerInput(data []byte) error {
	server := strings.TrimSpace(string(data))
	if server == "" {
		return nil
	}
	return address.Validate(server)
}

// printable returns s as is when it is plain text, quoted otherwise, so
// that echoing an argument cannot inject terminal escape sequences.
func printable(s string) string {
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return strconv.Quote(s)
		}
	}
	return s
}
