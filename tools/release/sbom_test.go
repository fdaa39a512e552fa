package release

import (
	"crypto/sha256"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// A document as syft writes one (cut down): the namespace ends in a random
// UUID, created is the clock's.
const syftDoc = `{"spdxVersion":"SPDX-2.3","dataLicense":"CC0-1.0","SPDXID":"SPDXRef-DOCUMENT",` +
	`"name":"regcred_1.2.3_linux_amd64.tar.gz",` +
	`"documentNamespace":"https://anchore.com/syft/file/regcred_1.2.3_linux_amd64.tar.gz-616a4cbf-8ada-4121-be00-d81deb5792b6",` +
	`"creationInfo":{"licenseListVersion":"3.29","creators":["Organization: Anchore, Inc","Tool: syft-1.57.2"],"created":"2026-12-02T18:09:25Z"},` +
	`"packages":[{"name":"k8s.io/client-go","versionInfo":"v0.34.3","licenseDeclared":"Apache-2.0"}]}`

// TestReproducibleSPDX: created becomes the commit's time, the namespace's
// UUID one named by the archive's sum (the same for the same archive, another
// for another), everything else is kept; what is not a syft SPDX document is
// refused.
func TestReproducibleSPDX(t *testing.T) {
	commit := time.Date(2026, 11, 30, 9, 15, 0, 0, time.FixedZone("CET", 3600))
	sumA, sumB := sha256.Sum256([]byte("archive a")), sha256.Sum256([]byte("archive b"))

	a, err := ReproducibleSPDX([]byte(syftDoc), commit, sumA)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		DocumentNamespace string `json:"documentNamespace"`
		CreationInfo      struct {
			Created  string   `json:"created"`
			Creators []string `json:"creators"`
		} `json:"creationInfo"`
		Packages []map[string]string `json:"packages"`
		Name     string              `json:"name"`
	}
	if err := json.Unmarshal(a, &got); err != nil {
		t.Fatal(err)
	}
	if got.CreationInfo.Created != "2026-11-30T08:15:00Z" {
		t.Errorf("created = %q, want the commit's time in UTC", got.CreationInfo.Created)
	}
	const prefix = "https://anchore.com/syft/file/regcred_1.2.3_linux_amd64.tar.gz-"
	if !strings.HasPrefix(got.DocumentNamespace, prefix) || strings.Contains(got.DocumentNamespace, "616a4cbf") {
		t.Errorf("namespace = %q, want syft's with a UUID of the archive's sum", got.DocumentNamespace)
	}
	if len(got.Packages) != 1 || got.Packages[0]["licenseDeclared"] != "Apache-2.0" || got.Name != "regcred_1.2.3_linux_amd64.tar.gz" ||
		len(got.CreationInfo.Creators) != 2 {
		t.Errorf("other fields changed: %s", a)
	}

	// Another run of syft (another clock, another random UUID) on the same
	// archive: the same bytes. Another archive: another namespace.
	rerun := strings.NewReplacer("616a4cbf-8ada-4121-be00-d81deb5792b6", "ce43727f-90fc-4106-a134-c8ef241a5940",
		"18:09:25Z", "18:09:26Z").Replace(syftDoc)
	again, err := ReproducibleSPDX([]byte(rerun), commit, sumA)
	if err != nil {
		t.Fatal(err)
	}
	if string(again) != string(a) {
		t.Errorf("two runs on one archive differ:\n%s\n%s", a, again)
	}
	b, err := ReproducibleSPDX([]byte(syftDoc), commit, sumB)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) == string(a) {
		t.Error("two archives got the same namespace")
	}
	// Applying it to its own output changes nothing.
	if twice, err := ReproducibleSPDX(a, commit, sumA); err != nil || string(twice) != string(a) {
		t.Errorf("not idempotent: %v\n%s", err, twice)
	}

	bad := []struct{ name, doc, want string }{
		{"not JSON", `spdx`, "read SPDX document"},
		{"CycloneDX", `{"bomFormat":"CycloneDX","specVersion":"1.6"}`, "not an SPDX 2 JSON document"},
		{"SPDX 3", strings.Replace(syftDoc, "SPDX-2.3", "SPDX-3.0", 1), "not an SPDX 2 JSON document"},
		{"namespace without UUID", strings.Replace(syftDoc, "-616a4cbf-8ada-4121-be00-d81deb5792b6", "", 1), "does not end in the UUID"},
		{"no created", strings.Replace(syftDoc, `"created"`, `"made"`, 1), "no creationInfo.created"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			out, err := ReproducibleSPDX([]byte(tc.doc), commit, sumA)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v (out %q), want one containing %q", err, out, tc.want)
			}
		})
	}
}
