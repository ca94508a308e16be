package citest

import (
	"io"
	"log"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// TestGitLabBuildJobPushesAndRecordsDigest runs the template's build job
// script with the real buildah against an in-process registry: the reference
// it hands to the sign job (the artifact signet-image.ref) must carry the
// digest the registry serves for every pushed tag. Variables named like the
// old job variables (BUILD_IMAGE...) are set to another image and change
// nothing: the inputs are in the script. Needs buildah and root (as a GitLab runner's job has);
// skipped otherwise. The image is FROM scratch, so nothing is pulled.
func TestGitLabBuildJobPushesAndRecordsDigest(t *testing.T) {
	requireTool(t, "buildah")
	if os.Geteuid() != 0 {
		t.Skip("buildah needs root here (CI runs as root, as a GitLab runner's job does)")
	}
	if testing.Short() {
		t.Skip("runs buildah")
	}
	reg := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer reg.Close()
	host := strings.TrimPrefix(reg.URL, "http://")

	dir := t.TempDir()
	writeFile(t, dir, "app/Dockerfile", []byte("FROM scratch\nCOPY hello.txt /hello.txt\n"))
	writeFile(t, dir, "app/hello.txt", []byte("hello from a signed image\n"))
	authFile := writeFile(t, dir, "auth.json", []byte(`{"auths":{}}`))
	regConf := writeFile(t, dir, "registries.conf", []byte("[[registry]]\nlocation = \""+host+"\"\ninsecure = true\n"))
	storConf := writeFile(t, dir, "storage.conf", []byte("[storage]\ndriver = \"vfs\"\n"+
		"graphroot = \""+filepath.Join(dir, "storage")+"\"\nrunroot = \""+filepath.Join(dir, "run")+"\"\n"))

	image := host + "/acme/hello"
	build := jobs(t, map[string]string{"image": image, "tags": "abc123 main", "context": "app", "dockerfile": "app/Dockerfile"})["signet-build"]
	cmd := exec.Command("sh", "-e", "-c", strings.Join(build.Script, "\n"))
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"CONTAINERS_REGISTRIES_CONF="+regConf, "CONTAINERS_STORAGE_CONF="+storConf,
		"REGISTRY_AUTH_FILE="+authFile,
		"CI_REGISTRY=", "CI_REGISTRY_PASSWORD=",
		// A pipeline variable of any of these names must not move the build.
		"BUILD_IMAGE="+host+"/evil/other", "BUILD_CONTEXT=/", "BUILD_DOCKERFILE=/dev/null", "BUILD_TAGS=evil",
	)
	for k, v := range build.Variables {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build job script: %v\n%s", err, out)
	}

	ref := strings.TrimSpace(string(readFile(t, filepath.Join(dir, "signet-image.ref"))))
	repo, digest, _ := strings.Cut(ref, "@")
	if repo != image || !strings.HasPrefix(digest, "sha256:") {
		t.Fatalf("signet-image.ref = %q, want %s@sha256:...", ref, image)
	}
	for _, tag := range []string{"abc123", "main"} {
		ref, err := name.ParseReference(image+":"+tag, name.Insecure)
		if err != nil {
			t.Fatal(err)
		}
		desc, err := remote.Head(ref)
		if err != nil {
			t.Fatalf("registry has no %s: %v", ref, err)
		}
		if desc.Digest.String() != digest {
			t.Errorf("tag %s is %s in the registry, signet-image.ref says %s", tag, desc.Digest, digest)
		}
	}
}
