package trustroot

import (
	"crypto"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/theupdateframework/go-tuf/v2/metadata"
)

// tufRepo is a TUF repository (consistent snapshots, one ed25519 key per
// top-level role) written to a directory and served over HTTP, the way
// Sigstore's CDN serves tuf-repo-cdn.sigstore.dev. Down makes it answer
// 503 to everything.
type tufRepo struct {
	t         *testing.T
	dir, URL  string
	keys      map[string]ed25519.PrivateKey
	root      *metadata.Metadata[metadata.RootType]
	targets   *metadata.Metadata[metadata.TargetsType]
	snapshot  *metadata.Metadata[metadata.SnapshotType]
	timestamp *metadata.Metadata[metadata.TimestampType]
	Down      atomic.Bool
	Requests  atomic.Int64
}

func newTUFRepo(t *testing.T) *tufRepo {
	t.Helper()
	expires := time.Now().AddDate(0, 0, 7).UTC()
	r := &tufRepo{t: t, dir: t.TempDir(), keys: map[string]ed25519.PrivateKey{},
		root: metadata.Root(expires), targets: metadata.Targets(expires),
		snapshot: metadata.Snapshot(expires), timestamp: metadata.Timestamp(expires)}
	if err := os.Mkdir(filepath.Join(r.dir, "targets"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, role := range []string{metadata.ROOT, metadata.TARGETS, metadata.SNAPSHOT, metadata.TIMESTAMP} {
		pub, priv, err := ed25519.GenerateKey(nil)
		if err != nil {
			t.Fatal(err)
		}
		r.keys[role] = priv
		key, err := metadata.KeyFromPublicKey(pub)
		if err != nil {
			t.Fatal(err)
		}
		if err := r.root.Signed.AddKey(key, role); err != nil {
			t.Fatal(err)
		}
	}
	r.sign(metadata.ROOT, r.root.Sign, r.root.ClearSignatures)
	r.write("1.root.json", r.root.ToBytes)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.Requests.Add(1)
		if r.Down.Load() {
			http.Error(w, "the CDN is down", http.StatusServiceUnavailable)
			return
		}
		http.FileServer(http.Dir(r.dir)).ServeHTTP(w, req)
	}))
	t.Cleanup(srv.Close)
	r.URL = srv.URL
	return r
}

// RootJSON is the repository's root.json, the client's trust anchor.
func (r *tufRepo) RootJSON() []byte {
	b, err := r.root.ToBytes(false)
	if err != nil {
		r.t.Fatal(err)
	}
	return b
}

// Publish makes data the repository's target name: a new targets,
// snapshot and timestamp version, each signed.
func (r *tufRepo) Publish(name string, data []byte) {
	sum := sha256.Sum256(data)
	if err := os.WriteFile(filepath.Join(r.dir, "targets", hex.EncodeToString(sum[:])+"."+name), data, 0o644); err != nil {
		r.t.Fatal(err)
	}
	tf, err := metadata.TargetFile().FromBytes(name, data, "sha256")
	if err != nil {
		r.t.Fatal(err)
	}
	r.targets.Signed.Targets[name] = tf
	r.targets.Signed.Version++
	r.sign(metadata.TARGETS, r.targets.Sign, r.targets.ClearSignatures)
	r.write(strconv.FormatInt(r.targets.Signed.Version, 10)+".targets.json", r.targets.ToBytes)
	r.snapshot.Signed.Meta["targets.json"] = metadata.MetaFile(r.targets.Signed.Version)
	r.snapshot.Signed.Version++
	r.sign(metadata.SNAPSHOT, r.snapshot.Sign, r.snapshot.ClearSignatures)
	r.write(strconv.FormatInt(r.snapshot.Signed.Version, 10)+".snapshot.json", r.snapshot.ToBytes)
	r.timestamp.Signed.Meta["snapshot.json"] = metadata.MetaFile(r.snapshot.Signed.Version)
	r.timestamp.Signed.Version++
	r.sign(metadata.TIMESTAMP, r.timestamp.Sign, r.timestamp.ClearSignatures)
	r.write("timestamp.json", r.timestamp.ToBytes)
}

func (r *tufRepo) sign(role string, sign func(signature.Signer) (*metadata.Signature, error), clear func()) {
	s, err := signature.LoadSigner(r.keys[role], crypto.Hash(0))
	if err != nil {
		r.t.Fatal(err)
	}
	clear()
	if _, err := sign(s); err != nil {
		r.t.Fatal(err)
	}
}

func (r *tufRepo) write(name string, marshal func(bool) ([]byte, error)) {
	b, err := marshal(false)
	if err != nil {
		r.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(r.dir, name), b, 0o644); err != nil {
		r.t.Fatal(err)
	}
}
