package store

// DefaultItemLimit is Credential Manager's (see credentialManagerItemLimit).
const DefaultItemLimit = credentialManagerItemLimit
