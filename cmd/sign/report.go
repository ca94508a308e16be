package main

import (
	"encoding/json"
	"io"

	"github.com/urfave/cli/v2"

	"github.com/signet-dev/signet/ci"
	"github.com/signet-dev/signet/sign"
)

var osEnv = ci.OSEnv

// write prints v as --output says: as JSON, or as text.
func write(c *cli.Context, v any, text func(io.Writer) error) error {
	if c.String("output") == "json" {
		enc := json.NewEncoder(c.App.Writer)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	return text(c.App.Writer)
}

// report prints the run's report (text or JSON) and writes CI outputs.
// It runs on failure too, so a refused preflight still explains itself.
func report(c *cli.Context, res *sign.Result, runErr error) error {
	if res == nil {
		return nil
	}
	r := sign.NewReport(res, runErr)
	if err := write(c, r, r.WriteText); err != nil {
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
