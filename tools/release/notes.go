package release

import (
	"bytes"
	_ "embed"
	"strings"
	"text/template"

	"github.com/signet-dev/signet/ci"
)

// Identity is who signs a release: the GitHub repository and workflows
// whose keyless certificates the notes tell users to require.
type Identity struct {
	Issuer     string // https://token.actions.githubusercontent.com
	Repository string // signet-dev/signet
	// ImageWorkflow signs the images (the reusable workflow, so the
	// certificate names it); ReleaseWorkflow signs SHA256SUMS.
	ImageWorkflow, ReleaseWorkflow string
}

// GitHubIdentity is signet's own release identity on github.com.
var GitHubIdentity = Identity{
	Issuer:          ci.GitHubIssuer,
	Repository:      "signet-dev/signet",
	ImageWorkflow:   ".github/workflows/reusable-release.yml",
	ReleaseWorkflow: ".github/workflows/release.yml",
}

// SAN is the certificate identity (Build Signer URI) of workflow at the tag.
func (id Identity) SAN(workflow, version string) string {
	return "https://github.com/" + id.Repository + "/" + workflow + "@refs/tags/" + version
}

// Notes are the inputs of the release notes.
type Notes struct {
	Version      string
	ChartVersion string
	Prefix       string // registry prefix the images were pushed to, e.g. ghcr.io/signet-dev
	Images       []PublishedImage
	Chart        string         // chart archive file name
	ChartOCI     PublishedImage // the chart as an OCI artifact (Name charts/signet-enforce:<version>)
	Identity     Identity
	Packages     []Package // the base's Debian packages (linux/amd64)
}

//go:embed notes.md.tmpl
var notesTemplate string

var notesTmpl = template.Must(template.New("notes").Funcs(template.FuncMap{
	"repo": func(name string) string { r, _, _ := strings.Cut(name, ":"); return r },
}).Parse(notesTemplate))

// Render writes the release notes: what to download, and the exact
// commands that check every artifact's checksum and signature.
func (n Notes) Render() ([]byte, error) {
	var b bytes.Buffer
	err := notesTmpl.Execute(&b, n)
	return b.Bytes(), err
}

// Repositories are the images' repositories, each once, in release
// order, then the chart's.
func (n Notes) Repositories() []string {
	var out []string
	seen := map[string]bool{}
	for _, im := range append(n.Images[:len(n.Images):len(n.Images)], n.ChartOCI) {
		if im.Name == "" {
			continue
		}
		r, _, _ := strings.Cut(im.Name, ":")
		if !seen[r] {
			seen[r] = true
			out = append(out, r)
		}
	}
	return out
}

// TrustSnippet is the trust file the notes print: it admits signet's own
// images when signed by the release workflow at a v* tag, with SLSA
// provenance from the same repository and ref.
func (n Notes) TrustSnippet() ([]byte, error) {
	var b bytes.Buffer
	err := notesTmpl.ExecuteTemplate(&b, "trust", n)
	return b.Bytes(), err
}
