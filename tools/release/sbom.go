package release

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"time"

	"github.com/google/uuid"
)

// syftNamespace matches the random UUID syft ends an SPDX document's
// namespace with (https://anchore.com/syft/file/NAME-UUID).
var syftNamespace = regexp.MustCompile(`-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// ReproducibleSPDX makes an SPDX 2.x JSON document syft wrote of an archive
// the same byte for byte each time the same archive is catalogued: the two
// fields syft fills from the clock and from a random UUID are set from the
// release instead — creationInfo.created to created (the commit's time) and
// the namespace's UUID to one named by the archive's SHA-256 (a UUID v5), so
// that the namespace stays unique to what the document describes. Every
// other field is kept as syft wrote it.
func ReproducibleSPDX(doc []byte, created time.Time, archiveSHA256 [sha256.Size]byte) ([]byte, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(doc, &top); err != nil {
		return nil, fmt.Errorf("read SPDX document: %w", err)
	}
	var version, namespace string
	if err := json.Unmarshal(top["spdxVersion"], &version); err != nil || !bytes.HasPrefix([]byte(version), []byte("SPDX-2.")) {
		return nil, fmt.Errorf("not an SPDX 2 JSON document (spdxVersion %q)", version)
	}
	if err := json.Unmarshal(top["documentNamespace"], &namespace); err != nil || !syftNamespace.MatchString(namespace) {
		return nil, fmt.Errorf("documentNamespace %q does not end in the UUID syft writes", namespace)
	}
	var info map[string]json.RawMessage
	if err := json.Unmarshal(top["creationInfo"], &info); err != nil || info["created"] == nil {
		return nil, fmt.Errorf("SPDX document has no creationInfo.created")
	}

	id := uuid.NewSHA1(uuid.NameSpaceURL, []byte("sha256:"+hex.EncodeToString(archiveSHA256[:])))
	namespace = syftNamespace.ReplaceAllLiteralString(namespace, "-"+id.String())
	var err error
	if top["documentNamespace"], err = json.Marshal(namespace); err != nil {
		return nil, err
	}
	if info["created"], err = json.Marshal(created.UTC().Format(time.RFC3339)); err != nil {
		return nil, err
	}
	if top["creationInfo"], err = json.Marshal(info); err != nil {
		return nil, err
	}
	out, err := json.Marshal(top)
	if err != nil {
		return nil, err
	}
	return append(out, '\n'), nil
}
