package launch

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

var (
	podappOnce sync.Once
	podappBin  []byte
	podappErr  error
)

// podapp builds testenv/launch/podapp once, static, for linux/amd64.
func podapp() ([]byte, error) {
	podappOnce.Do(func() {
		dir, err := os.MkdirTemp("", "regcred-podapp-")
		if err != nil {
			podappErr = err
			return
		}
		defer os.RemoveAll(dir)
		out := filepath.Join(dir, "podapp")
		if b, err := GoBuildReleased([]string{"GOOS=linux", "GOARCH=amd64"}, out,
			"-ldflags", "-s -w", Module+"/testenv/launch/podapp"); err != nil {
			podappErr = fmt.Errorf("go build podapp: %v\n%s", err, b)
			return
		}
		podappBin, podappErr = os.ReadFile(out)
	})
	return podappBin, podappErr
}

// WriteAppImage writes a one-layer linux/amd64 image whose entrypoint is
// the static podapp program (/podapp) to path as a docker tarball tagged
// ref: `crane push` and `ctr images import` both take it.
func WriteAppImage(path, ref string) error {
	bin, err := podapp()
	if err != nil {
		return err
	}
	var layerTar bytes.Buffer
	tw := tar.NewWriter(&layerTar)
	if err := tw.WriteHeader(&tar.Header{Name: "podapp", Mode: 0o755, Size: int64(len(bin)), Typeflag: tar.TypeReg}); err != nil {
		return err
	}
	if _, err := tw.Write(bin); err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerTar.Bytes())), nil
	})
	if err != nil {
		return err
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		return err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", "amd64"
	cf.Config.Entrypoint = []string{"/podapp"}
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		return err
	}
	tag, err := name.NewTag(ref, name.Insecure)
	if err != nil {
		return err
	}
	return tarball.WriteToFile(path, tag, img)
}
