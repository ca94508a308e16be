// Command release builds signet's release (make release):
//
//	go run ./tools/release/cmd/release                       # snapshot into dist/
//	go run ./tools/release/cmd/release -version v0.2.0 -prefix ghcr.io/signet-dev -push
//	go run ./tools/release/cmd/release pin -checksums dist/SHA256SUMS -version v0.2.0 ci-templates/github/install-sign.sh
//
// It is wiring over package release; see its documentation.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/signet-dev/signet/tools/release"
)

func main() {
	log.SetFlags(0)
	if len(os.Args) > 1 && os.Args[1] == "pin" {
		if err := pin(os.Args[2:]); err != nil {
			log.Fatalf("release pin: %v", err)
		}
		return
	}
	if err := build(os.Args[1:]); err != nil {
		log.Fatalf("release: %v", err)
	}
}

func build(args []string) error {
	fs := flag.NewFlagSet("release", flag.ExitOnError)
	version := fs.String("version", "", "release tag (must equal Chart.yaml's appVersion); empty: a snapshot of the upcoming release")
	dist := fs.String("dist", "dist", "output directory (emptied first)")
	prefix := fs.String("prefix", "ghcr.io/signet-dev", "registry prefix of the images")
	push := fs.Bool("push", false, "push the images to -prefix (credentials from the Docker config)")
	binaries := fs.String("binaries", "", "binaries to build as command/os/arch, comma-separated (default: sign and enforce for "+strings.Join(release.BinaryPlatforms, ", ")+")")
	imagePlatforms := fs.String("image-platforms", strings.Join(release.ImagePlatforms, ","), "image platforms (each must be a binary platform)")
	repo := fs.String("repository", release.GitHubIdentity.Repository, "GitHub repository whose workflows sign the release (for the notes)")
	fs.Parse(args)

	module, err := os.Getwd()
	if err != nil {
		return err
	}
	commit := git(module, "rev-parse", "HEAD")
	epoch, err := sourceDateEpoch(module)
	if err != nil {
		return err
	}
	v := *version
	if v == "" {
		if v, err = release.SnapshotVersion(module, commit); err != nil {
			return err
		}
	} else if err := release.CheckTag(module, v); err != nil {
		return err
	}
	var bins []release.Binary
	if *binaries != "" {
		if bins, err = release.ParseBinaries(*binaries); err != nil {
			return err
		}
	}
	id := release.GitHubIdentity
	id.Repository = *repo
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	t0 := time.Now()
	m, err := release.Run(ctx, release.Config{
		Module: module, Dist: *dist, Version: v, Commit: commit, Epoch: epoch,
		Binaries: bins, ImagePlatforms: strings.Split(*imagePlatforms, ","),
		Prefix: *prefix, Push: *push, Identity: id, Log: log.Printf,
		Remote: []remote.Option{remote.WithAuthFromKeychain(authn.DefaultKeychain)},
	})
	if err != nil {
		return err
	}
	log.Printf("release %s (%s, SOURCE_DATE_EPOCH=%d) in %s: %d files in %s, notes %s",
		m.Version, shortCommit(commit), m.Epoch, time.Since(t0).Round(time.Second), len(m.Files), *dist,
		filepath.Join(*dist, "RELEASE_NOTES.md"))
	for _, img := range append(m.Images, m.ChartOCI) {
		fmt.Printf("%s@%s\n", img.Reference, img.Digest)
	}
	if out := os.Getenv("GITHUB_OUTPUT"); out != "" {
		return githubOutput(out, m)
	}
	return nil
}

// githubOutput hands the images to the workflow's signing job: images is
// one repo@sha256:... per line, the chart's too (it is signed and attested
// like the images).
func githubOutput(path string, m *release.Manifest) error {
	var b strings.Builder
	b.WriteString("images<<SIGNET_IMAGES\n")
	for _, img := range append(m.Images, m.ChartOCI) {
		repo := img.Reference[:strings.LastIndex(img.Reference, ":")]
		fmt.Fprintf(&b, "%s@%s\n", repo, img.Digest)
	}
	b.WriteString("SIGNET_IMAGES\n")
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = f.WriteString(b.String())
	return err
}

func pin(args []string) error {
	fs := flag.NewFlagSet("pin", flag.ExitOnError)
	sums := fs.String("checksums", "dist/SHA256SUMS", "the release's SHA256SUMS")
	version := fs.String("version", "", "release tag the checksums belong to")
	fs.Parse(args)
	if fs.NArg() != 1 || *version == "" {
		return fmt.Errorf("usage: release pin -checksums SHA256SUMS -version vX.Y.Z install-sign.sh")
	}
	s, err := os.ReadFile(*sums)
	if err != nil {
		return err
	}
	script, err := os.ReadFile(fs.Arg(0))
	if err != nil {
		return err
	}
	out, err := release.PinChecksums(script, s, *version)
	if err != nil {
		return err
	}
	return os.WriteFile(fs.Arg(0), out, 0o755)
}

// sourceDateEpoch is $SOURCE_DATE_EPOCH, else the commit time of HEAD.
func sourceDateEpoch(module string) (time.Time, error) {
	s := os.Getenv("SOURCE_DATE_EPOCH")
	if s == "" {
		s = git(module, "log", "-1", "--format=%ct", "HEAD")
	}
	if s == "" {
		return time.Time{}, fmt.Errorf("no SOURCE_DATE_EPOCH and no git commit to take it from")
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH %q: %w", s, err)
	}
	return time.Unix(n, 0).UTC(), nil
}

func git(dir string, args ...string) string {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

func shortCommit(c string) string {
	if len(c) > 12 {
		return c[:12]
	}
	return c
}
