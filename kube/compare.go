package kube

import (
	"sort"

	"github.com/regcred/regcred/kube/dockerconfig"
)

// Status is how a registry in a Secret compares with the local keyring.
type Status string

// Statuses.
const (
	InSync            Status = "in sync"
	Differs           Status = "differs"
	NotInKeyring      Status = "not in keyring"
	MissingFromSecret Status = "missing from Secret"
)

// Row is one registry's comparison. Detail never holds a secret.
type Row struct {
	Server   string // as written in the Secret (or, when missing there, as stored)
	Username string // the Secret's username (or the keyring's when missing there)
	Password string // the Secret's password; callers redact it
	Status   Status
	Detail   string
}

// Lookup finds the keyring's credential for a registry address. ok is false
// when the keyring has none.
type Lookup func(server string) (reg dockerconfig.Registry, ok bool, err error)

// Compare sets each of the Secret's registries against the keyring, and adds
// a row for every keyring registry in extra (canonical addresses the caller
// wants covered) that the Secret lacks.
func Compare(secret []dockerconfig.Registry, lookup Lookup, extra []dockerconfig.Registry) ([]Row, error) {
	var rows []Row
	seen := map[string]bool{}
	for _, s := range secret {
		seen[dockerconfig.SecretKey(s.Server)] = true
		k, ok, err := lookup(s.Server)
		if err != nil {
			return nil, err
		}
		row := Row{Server: s.Server, Username: s.Username, Password: s.Password}
		switch {
		case !ok:
			row.Status = NotInKeyring
		case k.Username != s.Username && k.Password != s.Password:
			row.Status, row.Detail = Differs, "username and password differ"
		case k.Username != s.Username:
			row.Status, row.Detail = Differs, "username differs"
		case k.Password != s.Password:
			row.Status, row.Detail = Differs, "password differs"
		default:
			row.Status = InSync
		}
		rows = append(rows, row)
	}
	for _, k := range extra {
		if !seen[dockerconfig.SecretKey(k.Server)] {
			rows = append(rows, Row{Server: k.Server, Username: k.Username, Status: MissingFromSecret})
		}
	}
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].Server < rows[j].Server })
	return rows, nil
}
