package cliapp

import (
	"fmt"
	"io"
	"io/fs"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/signet-dev/signet/internal/buildinfo"
)

// Setup gives app what every binary shares: its help prose from the text
// files in help (describe), the build's version for --version, `help` as
// a command, dynamic shell completion, and the version and completion
// commands.
func Setup(app *cli.App, help fs.FS) {
	describe(app, help)
	app.Version = buildinfo.Version()
	app.HideHelpCommand = false
	app.EnableBashCompletion = true
	app.Commands = append(app.Commands, versionCommand(app.Name), completionCommand(app.Name))
}

func versionCommand(prog string) *cli.Command {
	return &cli.Command{
		Name:  "version",
		Usage: "print the version, commit, Go version and platform of this binary",
		Description: fmt.Sprintf(`The version is the release this binary was built as (v0.2.0), the module
version for a `+"`go install ...@v0.2.0`"+` build, or "devel" for a build from a checkout.
The commit is stamped into release builds and `+"`make build`"+`, recorded by Go in a
build from a git clone, and read from a pseudo-version (`+"`go install ...@<commit>`"+`);
otherwise the line says why it is unknown (`+"`go install ...@v0.2.0`"+`: the tag names it).

Example:
   %[1]s version
   %[1]s version -o json

Environment: SIGNET_OUTPUT.`, prog),
		Flags: []cli.Flag{OutputFlag("text")},
		Action: func(c *cli.Context) error {
			info := buildinfo.Read()
			return Write(c, c.App.Writer, info, func(w io.Writer) error { return info.Write(w, c.App.Name) })
		},
	}
}

func completionCommand(prog string) *cli.Command {
	return &cli.Command{
		Name:      "completion",
		Usage:     "print a shell completion script (bash, zsh or fish)",
		ArgsUsage: "bash|zsh|fish",
		Description: fmt.Sprintf(`Completes commands, subcommands and flags.

Examples:
   source <(%[1]s completion bash)                       # bash, this shell
   %[1]s completion bash > /etc/bash_completion.d/%[1]s   # bash, every shell
   %[1]s completion zsh > "${fpath[1]}/_%[1]s"            # zsh
   %[1]s completion fish > ~/.config/fish/completions/%[1]s.fish

Environment: none.`, prog),
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return Usagef(c.App.Name, "completion needs one SHELL: bash, zsh or fish")
			}
			script, err := CompletionScript(c.App, c.Args().First())
			if err != nil {
				return Usagef(c.App.Name, "%v", err)
			}
			_, err = fmt.Fprint(c.App.Writer, script)
			return err
		},
	}
}

// CompletionScript returns the completion script of app for shell. bash and
// zsh ask the binary itself (urfave/cli's --generate-bash-completion), so
// they always match the installed version; fish gets a static script.
func CompletionScript(app *cli.App, shell string) (string, error) {
	prog := app.Name
	switch shell {
	case "bash":
		return strings.ReplaceAll(bashScript, "PROG", prog), nil
	case "zsh":
		return strings.ReplaceAll(zshScript, "PROG", prog), nil
	case "fish":
		return app.ToFishCompletion()
	}
	return "", fmt.Errorf("unknown shell %q: bash, zsh or fish", shell)
}

// Adapted from urfave/cli v2's autocomplete/bash_autocomplete.
const bashScript = `# bash completion for PROG (PROG completion bash)
_PROG_complete() {
  local cur words
  COMPREPLY=()
  cur="${COMP_WORDS[COMP_CWORD]}"
  words=("${COMP_WORDS[@]:0:$COMP_CWORD}")
  local opts
  if [[ "$cur" == "-"* ]]; then
    opts=$("${words[@]}" "$cur" --generate-bash-completion 2>/dev/null)
  else
    opts=$("${words[@]}" --generate-bash-completion 2>/dev/null)
  fi
  # shellcheck disable=SC2207
  COMPREPLY=($(compgen -W "${opts}" -- "${cur}"))
  return 0
}
complete -o bashdefault -o default -F _PROG_complete PROG
`

// Adapted from urfave/cli v2's autocomplete/zsh_autocomplete.
const zshScript = `#compdef PROG
# zsh completion for PROG (PROG completion zsh)
_PROG() {
  local -a opts
  local cur
  cur=${words[-1]}
  if [[ "$cur" == "-"* ]]; then
    opts=("${(@f)$(${words[@]:0:#words[@]-1} ${cur} --generate-bash-completion)}")
  else
    opts=("${(@f)$(${words[@]:0:#words[@]-1} --generate-bash-completion)}")
  fi
  if [[ "${opts[1]}" != "" ]]; then
    _describe 'values' opts
  else
    _files
  fi
}
if [[ "$funcstack[1]" == "_PROG" ]]; then
  _PROG "$@"
else
  compdef _PROG PROG
fi
`
