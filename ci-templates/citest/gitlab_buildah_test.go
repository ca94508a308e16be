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
	"gopkg.in/yaml.v3"
)

// TestGitLabBuildJobPushesAndRecordsDigest runs the template's build job
// script with the real buildah against an in-process registry: the digest it
// hands to the sign job (build.env) must be the digest the registry serves for
// every pushed tag. Needs buildah and root (as a GitLab runner's job has);
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

	_, _, body := template(t)
	var jobs map[string]job
	if err := yaml.Unmarshal(body, &jobs); err != nil {
		t.Fatal(err)
	}
	build := jobs["signet-build"]
	image := host + "/acme/hello"
	cmd := exec.Command("sh", "-e", "-c", strings.Join(build.Script, "\n"))
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"CONTAINERS_REGISTRIES_CONF="+regConf, "CONTAINERS_STORAGE_CONF="+storConf,
		"REGISTRY_AUTH_FILE="+authFile,
		"CI_REGISTRY=", "CI_REGISTRY_PASSWORD=",
		"BUILD_IMAGE="+image, "BUILD_CONTEXT=app", "BUILD_DOCKERFILE=app/Dockerfile", "BUILD_TAGS=abc123 main",
	)
	for k, v := range build.Variables {
		if !strings.HasPrefix(k, "BUILD_") {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build job script: %v\n%s", err, out)
	}

	env := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(readFile(t, filepath.Join(dir, "build.env")))), "\n") {
		k, v, _ := strings.Cut(line, "=")
		env[k] = v
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
		if desc.Digest.String() != env["SIGNET_DIGEST"] {
			t.Errorf("tag %s is %s in the registry, build.env says %s", tag, desc.Digest, env["SIGNET_DIGEST"])
		}
	}
	if want := image + "@" + env["SIGNET_DIGEST"]; env["SIGNET_IMAGE"] != want {
		t.Errorf("SIGNET_IMAGE=%q, want %q", env["SIGNET_IMAGE"], want)
	}
}
