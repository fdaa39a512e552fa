package keyring

// The per-item limits of each backend (each keyring's ItemLimit). Named
// here, together, so that one test can check each against the backend's
// real constraint, which Wine and the test machines do not enforce.
const (
	// SecretServiceItemLimit: the Secret Service has no hard limit, but
	// large items slow every later keyring write (gnome-keyring rewrites its
	// whole file).
	SecretServiceItemLimit = 64 << 10
	// KeychainItemLimit keeps go-keyring's `security -i` command line under
	// its 4096-byte limit after base64 encoding, with room for a long address.
	KeychainItemLimit = 2000
	// CredentialManagerItemLimit is Credential Manager's limit on a
	// credential blob (CRED_MAX_CREDENTIAL_BLOB_SIZE, 5 × 512 bytes).
	CredentialManagerItemLimit = 2560
	// KernelItemLimit is the largest payload of a kernel "user" key.
	KernelItemLimit = 32767
)
