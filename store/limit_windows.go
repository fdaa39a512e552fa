package store

// DefaultItemLimit is Credential Manager's limit on a credential blob.
const DefaultItemLimit = 2560
