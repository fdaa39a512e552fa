package store

import (
	"context"
	"errors"
	"fmt"
)

// Remote is a keyring another program keeps whole credentials in, items
// and all: the Windows Credential Manager, reached from WSL 2 through
// regcred's own Windows build (package wsl), which writes the items with
// this package's format, chunking, writers' lock and migration on its
// side. A store on a Remote checks its input as any store does, then asks
// it for whole credentials.
type Remote interface {
	Get(ctx context.Context, server string) (username, secret string, err error)
	Put(ctx context.Context, server, username, secret string) error
	Erase(ctx context.Context, server string) error
	List(ctx context.Context) (map[string]string, error)
}

// remoteGet is Get on a Remote.
func (s *Store) remoteGet(ctx context.Context, query string) (Credential, error) {
	user, secret, err := s.cfg.Remote.Get(ctx, query)
	if err != nil {
		return Credential{}, err
	}
	return Credential{ServerURL: query, Username: user, Secret: secret}, nil
}

// remoteCheck is Check on a Remote: every credential it lists reads back.
// What its items look like is for the Windows build's own doctor to say.
func (s *Store) remoteCheck(ctx context.Context) (Report, error) {
	list, err := s.cfg.Remote.List(ctx)
	if err != nil {
		return Report{}, fmt.Errorf("list: %w", err)
	}
	var rep Report
	for server := range list {
		if _, _, err := s.cfg.Remote.Get(ctx, server); errors.Is(err, ErrNotFound) {
			rep.Gone = append(rep.Gone, server)
		} else if err != nil {
			return Report{}, fmt.Errorf("read %s: %w", server, err)
		}
	}
	return rep, nil
}

// errRemoteRepair: repairs of a Remote's items are the Windows build's.
var errRemoteRepair = errors.New("the Windows build keeps these items: run `docker-credential-regcred.exe doctor --fix` on the Windows side")
