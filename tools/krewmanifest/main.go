// Command krewmanifest writes the krew plugin manifest (krew's Plugin,
// v1alpha2) for a release from what GoReleaser left in dist/: one platform
// per archive, its SHA-256 read from checksums.txt, so that the manifest
// and the archives it names cannot drift apart.
//
// Usage: krewmanifest -dist dist -version 1.2.3 -url https://…/download/v1.2.3/ > dist/regcred.krew.yaml
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/regcred/regcred/tools/release"
)

func main() {
	dist := flag.String("dist", "dist", "GoReleaser's output directory")
	version := flag.String("version", "", "the release's version (semver, with or without v)")
	url := flag.String("url", "", "where the archives are downloaded from: the base URL their names are appended to")
	flag.Parse()
	if err := run(*dist, *version, *url); err != nil {
		fmt.Fprintln(os.Stderr, "krewmanifest:", err)
		os.Exit(1)
	}
}

func run(dist, version, url string) error {
	raw, err := os.ReadFile(filepath.Join(dist, "artifacts.json"))
	if err != nil {
		return err
	}
	var artifacts []release.Artifact
	if err := json.Unmarshal(raw, &artifacts); err != nil {
		return fmt.Errorf("read %s: %w", filepath.Join(dist, "artifacts.json"), err)
	}
	sums, err := os.ReadFile(filepath.Join(dist, "checksums.txt"))
	if err != nil {
		return err
	}
	out, err := release.KrewManifest(version, url, artifacts, sums)
	if err != nil {
		return err
	}
	_, err = os.Stdout.Write(out)
	return err
}
