package sign

import (
	"context"
	"net/http"
	"slices"

	"github.com/signet-dev/signet/verify"
)

// NewPostCheck is the post-check `sign` runs: the verify engine with opts
// (the cluster's engine, the run's trust policy), built by Run over the
// run's registry transport. It then reads what the registry lists now (the
// .sig/.att tags, the referrers) as the run read it back after its last
// write, and the content the registry accepted from the run (by digest)
// from memory; anything else, other signers' entries included, from the
// registry. The evaluation is the engine's, unchanged, on the digest that
// will run. Outside Run it verifies like verify.New(opts...).
func NewPostCheck(opts ...verify.Option) verify.Decider { return postCheck(opts) }

type postCheck []verify.Option

func (p postCheck) Decide(ctx context.Context, req verify.Request) *verify.Decision {
	return verify.New(p...).Flow().Decide(ctx, req)
}

// over is the post-check through rt, the run's transport.Wrapper: the
// engine uses it as is (no ping, the run's credentials).
func (p postCheck) over(rt http.RoundTripper) verify.Decider {
	return verify.New(append(slices.Clip(p), verify.WithAuthenticatedTransport(rt))...).Flow()
}
