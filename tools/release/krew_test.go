package release

import (
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// TestKrewManifest: one platform per archive, each with its own sum from
// checksums.txt and the .exe names on Windows; a missing sum is an error.
func TestKrewManifest(t *testing.T) {
	arts := []Artifact{
		{Name: "regcred_1.2.3_linux_amd64.tar.gz", GOOS: "linux", GOARCH: "amd64", Type: "Archive"},
		{Name: "regcred_1.2.3_windows_arm64.zip", GOOS: "windows", GOARCH: "arm64", Type: "Archive"},
		{Name: "regcred_1.2.3_amd64.deb", GOOS: "linux", GOARCH: "amd64", Type: "Linux Package"},
	}
	sumA, sumB := strings.Repeat("a", 64), strings.Repeat("b", 64)
	sums := []byte(sumA + "  regcred_1.2.3_linux_amd64.tar.gz\n" + sumB + "  regcred_1.2.3_windows_arm64.zip\n")
	out, err := KrewManifest("1.2.3", "https://example.com/dl/", arts, sums)
	if err != nil {
		t.Fatal(err)
	}
	var p plugin
	if err := yaml.Unmarshal(out, &p); err != nil {
		t.Fatal(err)
	}
	if p.Spec.Version != "v1.2.3" || len(p.Spec.Platforms) != 2 {
		t.Fatalf("version %q, %d platforms:\n%s", p.Spec.Version, len(p.Spec.Platforms), out)
	}
	lin, win := p.Spec.Platforms[0], p.Spec.Platforms[1]
	if lin.Sha256 != sumA || lin.URI != "https://example.com/dl/regcred_1.2.3_linux_amd64.tar.gz" || lin.Bin != "kubectl-regcred" || lin.Selector.MatchLabels["os"] != "linux" {
		t.Errorf("linux platform: %+v", lin)
	}
	if win.Sha256 != sumB || win.Bin != "kubectl-regcred.exe" || win.Files[1].From != "docker-credential-regcred.exe" || win.Selector.MatchLabels["arch"] != "arm64" {
		t.Errorf("windows platform: %+v", win)
	}
	if _, err := KrewManifest("1.2.3", "https://example.com/dl/", arts, sums[:strings.IndexByte(string(sums), '\n')+1]); err == nil || !strings.Contains(err.Error(), "regcred_1.2.3_windows_arm64.zip is not in checksums.txt") {
		t.Errorf("a missing sum: %v", err)
	}
}
