package ci

import (
	"fmt"
	"os"
	"sort"
	"strings"
)

// Outputs are key/value results of a job step (digest, references) and a
// Markdown summary, written where the CI system collects them.
type Outputs struct {
	Values  map[string]string
	Summary string
}

// Write sends outputs to GitHub ($GITHUB_OUTPUT, $GITHUB_STEP_SUMMARY) or,
// on GitLab, to the dotenv file dotenvPath for artifacts:reports:dotenv.
// Outside CI it does nothing. It returns the files written.
//
// A dotenv report's variables land in every later job that needs the job,
// where they override that job's own variables of the same name: so they
// are named SIGNET_DIGEST, SIGNET_IMAGE..., never a bare IMAGE or DIGEST
// that a deploy job also uses.
func (o Outputs) Write(env Env, dotenvPath string) ([]string, error) {
	var written []string
	keys := make([]string, 0, len(o.Values))
	for k := range o.Values {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	switch Detect(env) {
	case GitHub:
		if p := env("GITHUB_OUTPUT"); p != "" {
			var b strings.Builder
			for _, k := range keys {
				fmt.Fprintf(&b, "%s=%s\n", k, oneLine(o.Values[k]))
			}
			if err := appendFile(p, b.String()); err != nil {
				return written, fmt.Errorf("writing GITHUB_OUTPUT: %w", err)
			}
			written = append(written, p)
		}
		if p := env("GITHUB_STEP_SUMMARY"); p != "" && o.Summary != "" {
			if err := appendFile(p, o.Summary); err != nil {
				return written, fmt.Errorf("writing GITHUB_STEP_SUMMARY: %w", err)
			}
			written = append(written, p)
		}
	case GitLab:
		if dotenvPath == "" {
			return nil, nil
		}
		var b strings.Builder
		for _, k := range keys {
			fmt.Fprintf(&b, "%s%s=%s\n", DotenvPrefix, strings.ToUpper(k), oneLine(o.Values[k]))
		}
		if err := appendFile(dotenvPath, b.String()); err != nil {
			return written, fmt.Errorf("writing dotenv %s: %w", dotenvPath, err)
		}
		written = append(written, dotenvPath)
	}
	return written, nil
}

// DotenvPrefix starts the name of every variable of a GitLab dotenv report.
const DotenvPrefix = "SIGNET_"

func oneLine(s string) string { return strings.NewReplacer("\n", " ", "\r", " ").Replace(s) }

func appendFile(path, s string) error {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(s); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
