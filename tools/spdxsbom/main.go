// Command spdxsbom writes the SPDX SBOM of one release archive, the same
// byte for byte each time: syft (on PATH) catalogues the archive — each
// binary's Go modules, read from its build information, and the files — and
// release.ReproducibleSPDX sets the two fields syft takes from the clock and
// a random UUID. GoReleaser's sboms pipe runs it once per archive
// (.goreleaser.yaml); scripts/dist.sh builds it and syft.
//
// Usage: spdxsbom -created 2026-12-02T10:00:00Z ARCHIVE DOCUMENT
package main

import (
	"bytes"
	"crypto/sha256"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"time"

	"github.com/regcred/regcred/tools/release"
)

func main() {
	created := flag.String("created", "", "the document's creation time (RFC 3339): the commit's, for a reproducible release")
	flag.Parse()
	if flag.NArg() != 2 {
		fmt.Fprintln(os.Stderr, "usage: spdxsbom -created TIME ARCHIVE DOCUMENT")
		os.Exit(2)
	}
	if err := run(*created, flag.Arg(0), flag.Arg(1)); err != nil {
		fmt.Fprintln(os.Stderr, "spdxsbom:", err)
		os.Exit(1)
	}
}

func run(created, archive, document string) error {
	when, err := time.Parse(time.RFC3339, created)
	if err != nil {
		return fmt.Errorf("-created: %w", err)
	}
	raw, err := os.ReadFile(archive)
	if err != nil {
		return err
	}
	// syft keeps a cache of what it looked up under ~/.cache/syft: give it
	// one of its own for this run, so the run leaves nothing behind and reads
	// nothing an earlier one left.
	cache, err := os.MkdirTemp("", "spdxsbom-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(cache)
	var stdout, stderr bytes.Buffer
	cmd := exec.Command("syft", "scan", "--quiet", "--output", "spdx-json", "file:"+archive)
	cmd.Env = append(os.Environ(), "SYFT_CACHE_DIR="+cache)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("syft %s: %w: %s", archive, err, bytes.TrimSpace(stderr.Bytes()))
	}
	doc, err := release.ReproducibleSPDX(stdout.Bytes(), when, sha256.Sum256(raw))
	if err != nil {
		return fmt.Errorf("syft's SBOM of %s: %w", archive, err)
	}
	return os.WriteFile(document, doc, 0o644)
}
