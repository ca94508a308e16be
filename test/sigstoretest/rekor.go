package sigstoretest

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/cyberphone/json-canonicalization/go/src/webpki.org/jsoncanonicalizer"
	"github.com/sigstore/rekor/pkg/types"
	"github.com/sigstore/rekor/pkg/util"
	"github.com/sigstore/sigstore-go/pkg/tlog"
	"github.com/sigstore/sigstore/pkg/signature"

	// Register the entry kinds this log accepts, as a Rekor server does.
	_ "github.com/sigstore/rekor/pkg/types/dsse/v0.0.1"
	_ "github.com/sigstore/rekor/pkg/types/hashedrekord/v0.0.1"
	_ "github.com/sigstore/rekor/pkg/types/intoto/v0.0.2"
)

// rekorLog is an append-only Rekor v1 log kept in memory: a real RFC 6962
// Merkle tree, so inclusion proofs have sibling hashes and entries get
// distinct, non-zero indexes.
type rekorLog struct {
	key    *ecdsa.PrivateKey
	logID  []byte
	treeID int64

	mu     sync.Mutex
	leaves [][]byte // leaf hashes
}

// logEntry is what Rekor returns for an upload.
type logEntry struct {
	body           []byte // canonicalized entry
	index          int64
	integratedTime int64
	set            []byte // signed entry timestamp (inclusion promise)
	rootHash       []byte
	treeSize       int64
	hashes         [][]byte
	checkpoint     string
}

const rekorOrigin = "rekor.sigstoretest.local"

func newRekorLog() (*rekorLog, error) {
	k, id, err := newLogKey()
	if err != nil {
		return nil, err
	}
	l := &rekorLog{key: k, logID: id, treeID: 1193050959916656506}
	// Earlier tenants of the log: proofs then have real sibling hashes.
	for i := 0; i < 5; i++ {
		b := make([]byte, 32)
		if _, err := rand.Read(b); err != nil {
			return nil, err
		}
		l.leaves = append(l.leaves, leafHash(b))
	}
	return l, nil
}

// canonicalEntry builds the canonicalized body Rekor would store for a
// proposed entry of the given kind and version.
func canonicalEntry(kind, version string, props types.ArtifactProperties) ([]byte, error) {
	ctx := context.Background()
	pe, err := types.NewProposedEntry(ctx, kind, version, props)
	if err != nil {
		return nil, fmt.Errorf("proposing %s entry: %w", kind, err)
	}
	impl, err := types.CreateVersionedEntry(pe)
	if err != nil {
		return nil, fmt.Errorf("creating %s entry: %w", kind, err)
	}
	body, err := types.CanonicalizeEntry(ctx, impl)
	if err != nil {
		return nil, fmt.Errorf("canonicalizing %s entry: %w", kind, err)
	}
	return body, nil
}

// append integrates body at time t and returns the entry with its SET,
// inclusion proof and signed checkpoint.
func (l *rekorLog) append(body []byte, t time.Time) (*logEntry, error) {
	l.mu.Lock()
	l.leaves = append(l.leaves, leafHash(body))
	leaves := l.leaves
	l.mu.Unlock()

	idx := int64(len(leaves) - 1)
	e := &logEntry{
		body:           body,
		index:          idx,
		integratedTime: t.Unix(),
		treeSize:       int64(len(leaves)),
		rootHash:       merkleRoot(leaves),
		hashes:         merklePath(int(idx), leaves),
	}
	payload, err := json.Marshal(tlog.RekorPayload{
		Body:           base64.StdEncoding.EncodeToString(body),
		IntegratedTime: e.integratedTime,
		LogIndex:       e.index,
		LogID:          hex.EncodeToString(l.logID),
	})
	if err != nil {
		return nil, err
	}
	canon, err := jsoncanonicalizer.Transform(payload)
	if err != nil {
		return nil, fmt.Errorf("canonicalizing SET payload: %w", err)
	}
	digest := sha256.Sum256(canon)
	if e.set, err = ecdsa.SignASN1(rand.Reader, l.key, digest[:]); err != nil {
		return nil, fmt.Errorf("signing SET: %w", err)
	}
	sv, err := signature.LoadECDSASignerVerifier(l.key, crypto.SHA256)
	if err != nil {
		return nil, err
	}
	cp, err := util.CreateAndSignCheckpoint(context.Background(), rekorOrigin, l.treeID, uint64(e.treeSize), e.rootHash, sv)
	if err != nil {
		return nil, fmt.Errorf("signing checkpoint: %w", err)
	}
	e.checkpoint = string(cp)
	return e, nil
}

func leafHash(b []byte) []byte {
	h := sha256.Sum256(append([]byte{0}, b...))
	return h[:]
}

func nodeHash(l, r []byte) []byte {
	h := sha256.New()
	h.Write([]byte{1})
	h.Write(l)
	h.Write(r)
	return h.Sum(nil)
}

// split is the largest power of two smaller than n (RFC 6962 section 2.1).
func split(n int) int {
	k := 1
	for k<<1 < n {
		k <<= 1
	}
	return k
}

func merkleRoot(leaves [][]byte) []byte {
	if len(leaves) == 1 {
		return leaves[0]
	}
	k := split(len(leaves))
	return nodeHash(merkleRoot(leaves[:k]), merkleRoot(leaves[k:]))
}

// merklePath is the audit path PATH(m, D[n]) of RFC 6962 section 2.1.1,
// leaf to root.
func merklePath(m int, leaves [][]byte) [][]byte {
	if len(leaves) <= 1 {
		return [][]byte{}
	}
	k := split(len(leaves))
	if m < k {
		return append(merklePath(m, leaves[:k]), merkleRoot(leaves[k:]))
	}
	return append(merklePath(m-k, leaves[k:]), merkleRoot(leaves[:k]))
}
