package main

import (
	"github.com/urfave/cli/v2"

	"github.com/signet-dev/signet/ci"
	"github.com/signet-dev/signet/internal/cliapp"
	"github.com/signet-dev/signet/sign"
)

var osEnv = ci.OSEnv

// report prints the run's report (text or JSON) and writes CI outputs.
// It runs on failure too, so a refused preflight still explains itself.
func report(c *cli.Context, res *sign.Result, runErr error) error {
	if res == nil {
		return nil
	}
	r := sign.NewReport(res, runErr)
	if err := cliapp.Write(c, c.App.Writer, r, r.WriteText); err != nil {
		return err
	}
	if r.Digest == "" {
		return nil
	}
	files, err := r.Outputs().Write(osEnv, c.String("dotenv"))
	for _, f := range files {
		stderrLog(c)("outputs written to %s", f)
	}
	return err
}
