// Package address holds the rules for registry addresses: which spellings
// name one registry (Canonical), which addresses may be stored at all
// (Validate), and Docker Hub's own spelling. The store names its keyring
// items by them and kubectl-regcred writes Secret keys by them; the
// package imports nothing else of regcred, so the Kubernetes side links no
// keyring code.
package address

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// DockerHub is the address docker itself stores Docker Hub
// credentials under. It is the one spelling every Docker Hub alias resolves to.
const DockerHub = "https://index.docker.io/v1/"

// dockerHubHosts are the host names that all mean Docker Hub's registry.
var dockerHubHosts = map[string]bool{
	"docker.io":            true,
	"index.docker.io":      true,
	"registry-1.docker.io": true,
	"registry.docker.io":   true,
}

// MaxLen bounds a stored address: long enough for any real registry
// address, short enough to fit in every backend's item name.
const MaxLen = 1024

// ErrInvalid is returned for an address that cannot name a registry.
var ErrInvalid = errors.New("invalid server URL")

// Canonical reduces a registry address to the form that decides which
// registry it names. Two addresses name the same registry when their
// canonical forms are equal:
//
//   - the scheme is not part of the identity: "https://h", "http://h" and "h"
//     are one registry, as docker's own lookup (ConvertToHostname) treats
//     them. Whether plain HTTP may be used is the client's decision
//     (insecure-registries), not the credential store's;
//   - letter case does not count: host names are case-insensitive, and a
//     path can only name repositories, whose names the distribution spec
//     makes lowercase. This also keeps Windows' Credential Manager, whose
//     target names are case-insensitive, and every other backend alike;
//   - ports are kept, so h:5000 and h:5001 are different registries (and
//     h:443 is not h);
//   - trailing slashes and a bare API version path ("/v1", "/v2") are
//     dropped; any other path is kept, so Docker Hub's
//     "https://index.docker.io/v1/access-token" stays its own entry;
//   - docker.io, index.docker.io, registry-1.docker.io all mean Docker Hub.
func Canonical(server string) string {
	s := strings.TrimSpace(server)
	s = trimScheme(s)
	host, path, _ := strings.Cut(strings.ToLower(s), "/")
	path = "/" + strings.TrimRight(path, "/")
	if path == "/" || path == "/v1" || path == "/v2" {
		path = ""
	}
	if dockerHubHosts[host] {
		host = "docker.io"
	}
	return host + path
}

// trimScheme removes a leading http:// or https:// in any letter case.
func trimScheme(s string) string {
	for _, p := range []string{"https://", "http://"} {
		if len(s) >= len(p) && strings.EqualFold(s[:len(p)], p) {
			return s[len(p):]
		}
	}
	return s
}

// Validate reports whether server can be stored as a registry
// address. It refuses what would corrupt the index or leak a secret into it:
// control characters and white space, user:password@ inside the address, an
// empty or malformed host, a non-numeric port and other schemes.
func Validate(server string) error {
	if server == "" {
		return fmt.Errorf("%w: empty", ErrInvalid)
	}
	if len(server) > MaxLen {
		return fmt.Errorf("%w: longer than %d bytes", ErrInvalid, MaxLen)
	}
	if !utf8.ValidString(server) {
		return fmt.Errorf("%w: not valid UTF-8", ErrInvalid)
	}
	for _, r := range server {
		if unicode.IsControl(r) || unicode.IsSpace(r) {
			return fmt.Errorf("%w: contains white space or a control character", ErrInvalid)
		}
	}
	if strings.ContainsAny(server, "{}") {
		// RFC 3986 leaves braces out of URLs; KeePassXC would also read
		// one in an item's attributes as a placeholder.
		return fmt.Errorf("%w: contains a brace, which an address holds only percent-encoded (%%7B, %%7D)", ErrInvalid)
	}
	rest := trimScheme(server)
	if i := strings.Index(rest, "://"); i >= 0 {
		return fmt.Errorf("%w: only http:// and https:// addresses name a registry", ErrInvalid)
	}
	authority, _, _ := strings.Cut(rest, "/")
	authority, _, _ = strings.Cut(authority, "?")
	if strings.Contains(authority, "@") {
		// Never echo the address here: the part before @ may be a password.
		return fmt.Errorf("%w: credentials inside the address (user:password@host) are not allowed", ErrInvalid)
	}
	return validateHostPort(authority)
}

// validateHostPort checks "host", "host:port", "[v6]" and "[v6]:port".
func validateHostPort(authority string) error {
	if authority == "" {
		return fmt.Errorf("%w: no host", ErrInvalid)
	}
	host, port := authority, ""
	if strings.HasPrefix(authority, "[") {
		end := strings.Index(authority, "]")
		if end < 0 {
			return fmt.Errorf("%w: unclosed [ in IPv6 address", ErrInvalid)
		}
		host, port = authority[1:end], authority[end+1:]
		if net.ParseIP(host) == nil {
			return fmt.Errorf("%w: %q is not an IPv6 address", ErrInvalid, host)
		}
		if port != "" && !strings.HasPrefix(port, ":") {
			return fmt.Errorf("%w: unexpected text after IPv6 address", ErrInvalid)
		}
		port = strings.TrimPrefix(port, ":")
	} else if h, p, ok := strings.Cut(authority, ":"); ok {
		host, port = h, p
		if host == "" {
			return fmt.Errorf("%w: no host", ErrInvalid)
		}
	}
	if port != "" || strings.HasSuffix(authority, ":") {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("%w: port %q is not a number from 1 to 65535", ErrInvalid, port)
		}
	}
	return nil
}
