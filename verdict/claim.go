package verdict

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Annotation is the pod annotation the mutating webhook writes the
// verdict to.
const Annotation = "signet.dev/verdict"

// Claim is what a verdict says.
type Claim struct {
	// Namespace and Pod bind the verdict to one pod: Pod is its name, or,
	// for a pod named by the API server (metadata.generateName), that
	// prefix with PodPrefix set: the name is not known at admission.
	Namespace string
	Pod       string
	PodPrefix bool
	// PolicyHash is the trust file's hash (policy.Policy.Hash).
	PolicyHash string
	// Images are the admitted images, each at its digest.
	Images []Image
	// Time is when the webhook decided.
	Time time.Time
	// KeyID names the key that signed it (set by Verify).
	KeyID string
}

// Image is one admitted image.
type Image struct {
	// Repository is the image's repository as name.Repository.Name gives
	// it ("registry.example/team/app").
	Repository string
	// Digest is the manifest (or index) digest that was verified.
	Digest string
	// RuleHash is the governing rule's meaning (policy.Rule.Hash).
	RuleHash string
}

// Want is what a node is about to run, under the trust file it has.
type Want struct {
	Namespace, Pod string
	Repository     string
	Digest         string
	PolicyHash     string
	RuleHash       string
	Now            time.Time
	MaxAge         time.Duration
}

// Reasons a verdict does not cover a container. Each is an error a caller
// can test with errors.Is; the wrapping message names the values.
var (
	ErrNamespace = errors.New("verdict is for another namespace")
	ErrPod       = errors.New("verdict is for another pod")
	ErrPolicy    = errors.New("verdict is from another trust file")
	ErrDigest    = errors.New("verdict does not cover this image digest")
	ErrRule      = errors.New("verdict is from another version of the governing rule")
	ErrExpired   = errors.New("verdict is older than the node's max age")
	ErrFuture    = errors.New("verdict is dated in the future")
)

// clockSkew is how far in the future a verdict's time may be (the
// webhook's and the node's clocks differ a little).
const clockSkew = time.Minute

// Covers says whether the claim covers w, and if not, why.
func (c *Claim) Covers(w Want) error {
	switch {
	case c.Namespace != w.Namespace:
		return fmt.Errorf("%w: %q, the pod is in %q", ErrNamespace, c.Namespace, w.Namespace)
	case !c.podMatches(w.Pod):
		return fmt.Errorf("%w: %s, this is %q", ErrPod, c.podString(), w.Pod)
	case c.PolicyHash != w.PolicyHash:
		return fmt.Errorf("%w: %s, the node has %s", ErrPolicy, c.PolicyHash, w.PolicyHash)
	case w.Now.Sub(c.Time) > w.MaxAge:
		return fmt.Errorf("%w: decided %s ago (max %s)", ErrExpired, w.Now.Sub(c.Time).Round(time.Second), w.MaxAge)
	case c.Time.Sub(w.Now) > clockSkew:
		return fmt.Errorf("%w: %s", ErrFuture, c.Time.Format(time.RFC3339))
	}
	for _, img := range c.Images {
		if img.Repository != w.Repository || img.Digest != w.Digest {
			continue
		}
		if img.RuleHash != w.RuleHash {
			return fmt.Errorf("%w: %s@%s", ErrRule, w.Repository, w.Digest)
		}
		return nil
	}
	return fmt.Errorf("%w: %s@%s", ErrDigest, w.Repository, w.Digest)
}

func (c *Claim) podMatches(pod string) bool {
	if c.PodPrefix {
		return c.Pod != "" && strings.HasPrefix(pod, c.Pod) && len(pod) > len(c.Pod)
	}
	return c.Pod == pod
}

func (c *Claim) podString() string {
	if c.PodPrefix {
		return fmt.Sprintf("pods named %q...", c.Pod)
	}
	return fmt.Sprintf("pod %q", c.Pod)
}

// ResourceURI names the pod a verdict is for, as the VSA's resourceUri:
// "k8s:pod:<namespace>/<name>", or "k8s:pod:<namespace>/<generateName>*".
func (c *Claim) ResourceURI() string {
	u := "k8s:pod:" + c.Namespace + "/" + c.Pod
	if c.PodPrefix {
		u += "*"
	}
	return u
}

func (c *Claim) parseResourceURI(u string) error {
	rest, ok := strings.CutPrefix(u, "k8s:pod:")
	ns, pod, ok2 := strings.Cut(rest, "/")
	if !ok || !ok2 || ns == "" || pod == "" {
		return fmt.Errorf("resourceUri %q is not k8s:pod:<namespace>/<pod>", u)
	}
	c.Namespace = ns
	c.Pod, c.PodPrefix = strings.CutSuffix(pod, "*")
	return nil
}
