package store

// DefaultItemLimit keeps go-keyring's `security -i` command under its
// 4096-byte line limit after base64 encoding, with room for a long address.
const DefaultItemLimit = 2000
