package sign

import (
	"context"

	"github.com/signet-dev/signet/regclient"
	"github.com/signet-dev/signet/verify"
)

// PostCheck is the post-check `sign` runs: the verify engine with Options
// (the cluster's engine, the run's trust policy), built by Run over the
// run's registry client. It then reads what the registry lists now (the
// .sig/.att tags, the referrers) as the run read it back after its last
// write, and the content the registry accepted from the run (by digest)
// from the client's memory; anything else, other signers' entries
// included, from the registry, through the run's authentication (no
// ping). The evaluation is the engine's, unchanged, on the digest that
// will run.
type PostCheck struct {
	Options []verify.Option
}

// NewPostCheck is a post-check with opts.
func NewPostCheck(opts ...verify.Option) *PostCheck { return &PostCheck{Options: opts} }

// decide decides image under req's policy through reg, the run's client.
func (p *PostCheck) decide(ctx context.Context, reg *regclient.Client, req verify.Request) *verify.Decision {
	opts := append(append([]verify.Option{}, p.Options...), verify.WithRegistry(reg))
	return verify.New(opts...).Flow().Decide(ctx, req)
}
