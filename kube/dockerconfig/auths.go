package dockerconfig

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Auths is the "auths" object of a .dockerconfigjson, each entry kept as
// the bytes it was written with, so that an entry regcred does not write
// goes back unchanged (fields regcred never writes included).
type Auths map[string]json.RawMessage

// ParseAuths reads the auths of .dockerconfigjson content.
func ParseAuths(data []byte) (Auths, error) {
	var cfg struct {
		Auths Auths `json:"auths"`
	}
	if err := json.Unmarshal(data, &cfg); err != nil {
		return nil, fmt.Errorf("parse .dockerconfigjson: %w", err)
	}
	if cfg.Auths == nil {
		return nil, errors.New(`parse .dockerconfigjson: no "auths" object (a config.json from a credential store holds no credentials)`)
	}
	return cfg.Auths, nil
}

// JSON is the .dockerconfigjson content holding a, keys sorted, as
// kubectl writes it.
func (a Auths) JSON() ([]byte, error) {
	if a == nil {
		a = Auths{}
	}
	return json.Marshal(struct {
		Auths Auths `json:"auths"`
	}{a})
}

// Action is what a write does to one entry of a Secret.
type Action string

// Actions, in the words a dry run uses.
const (
	Add    Action = "add"
	Update Action = "update"
	Same   Action = "unchanged"
	Keep   Action = "keep"
	Remove Action = "remove"
)

// Done is the action in the past tense, for a write that happened.
func (a Action) Done() string {
	switch a {
	case Add:
		return "added"
	case Update:
		return "updated"
	case Keep:
		return "kept"
	case Remove:
		return "removed"
	}
	return string(a)
}

// Change is what a write does to the entry under Key.
type Change struct {
	Key    string
	Action Action
}

// Summary lists changes as "key action, …", in the past tense unless
// dryRun; "" for none.
func Summary(changes []Change, dryRun bool) string {
	parts := make([]string, 0, len(changes))
	for _, c := range changes {
		a := c.Action.Done()
		if dryRun {
			a = string(c.Action)
		}
		parts = append(parts, c.Key+" "+a)
	}
	return strings.Join(parts, ", ")
}

// Merge writes ours over existing. Existing entries with the Secret key
// of one of ours, however each is spelt, are replaced by it; every other
// entry is kept — each spelling of one registry the Secret holds, as it
// is — or removed with prune. It returns the result and what happened to
// each entry, sorted by key.
func Merge(existing, ours Auths, prune bool) (Auths, []Change) {
	out := Auths{}
	var changes []Change
	byKey := map[string][]string{} // an existing entry's Secret key → its keys as written
	for k := range existing {
		byKey[SecretKey(k)] = append(byKey[SecretKey(k)], k)
	}
	for k, v := range ours {
		olds, had := byKey[SecretKey(k)]
		switch {
		case !had:
			changes = append(changes, Change{k, Add})
		case len(olds) == 1 && olds[0] == k && compactEqual(existing[k], v):
			changes = append(changes, Change{k, Same})
		default:
			changes = append(changes, Change{k, Update})
		}
		delete(byKey, SecretKey(k))
		out[k] = v
	}
	for _, keys := range byKey {
		for _, k := range keys {
			if prune {
				changes = append(changes, Change{k, Remove})
				continue
			}
			changes = append(changes, Change{k, Keep})
			out[k] = existing[k]
		}
	}
	sort.Slice(changes, func(i, j int) bool { return changes[i].Key < changes[j].Key })
	return out, changes
}

// WithAuths is the .dockerconfigjson content original with its auths
// replaced by a: every other top-level field — credHelpers, HttpHeaders,
// proxies, which kaniko, BuildKit and Tekton read — stays as it was.
// Content that does not parse (or none) gives a's alone.
func WithAuths(original []byte, a Auths) ([]byte, error) {
	var doc map[string]json.RawMessage
	if json.Unmarshal(original, &doc) != nil || doc == nil {
		return a.JSON()
	}
	if a == nil {
		a = Auths{}
	}
	auths, err := json.Marshal(a)
	if err != nil {
		return nil, err
	}
	doc["auths"] = auths
	return json.Marshal(doc)
}

// compactEqual reports whether two JSON texts are equal once compacted.
func compactEqual(a, b json.RawMessage) bool {
	ca, errA := json.Marshal(a)
	cb, errB := json.Marshal(b)
	return errA == nil && errB == nil && string(ca) == string(cb)
}
