package store

import "github.com/regcred/regcred/store/keyring"

// ItemFormat tells a keyring what it needs of the items this version
// writes to list them (keyring.Format): every keyring a store uses is made
// with it (see Open).
type ItemFormat struct{}

var _ keyring.Format = ItemFormat{}

// IsChunk reports whether account names a chunk item.
func (ItemFormat) IsChunk(account string) bool {
	_, chunk := parseChunk(account)
	return chunk
}

// LabelOf is the label of an item's content, for keyrings that keep no
// label apart from it: the zero Label unless this version wrote it.
func (ItemFormat) LabelOf(data string) keyring.Label {
	it, err := decodeItem(data)
	if err != nil || it.version() != itemVersion {
		return keyring.Label{}
	}
	return it.label()
}
