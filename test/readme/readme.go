// Package readme reads the blocks of the README's quickstarts, so tests run
// exactly what a new user copies: each fenced block that follows a
// `<!-- quickstart: NAME -->` marker, by NAME.
package readme

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

var marker = regexp.MustCompile(`^<!-- quickstart: (.+?) -->$`)

// Quickstart returns the marked blocks of root/README.md, by name. A
// marker not followed by a fenced block, or a name used twice, is an error.
func Quickstart(root string) (map[string]string, error) {
	b, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		return nil, err
	}
	return Blocks(string(b))
}

// Blocks returns the marked blocks of a Markdown text.
func Blocks(md string) (map[string]string, error) {
	lines := strings.Split(md, "\n")
	out := map[string]string{}
	for i := 0; i < len(lines); i++ {
		m := marker.FindStringSubmatch(strings.TrimSpace(lines[i]))
		if m == nil {
			continue
		}
		name := m[1]
		if _, dup := out[name]; dup {
			return nil, fmt.Errorf("README.md:%d: quickstart block %q is marked twice", i+1, name)
		}
		j := i + 1
		for j < len(lines) && strings.TrimSpace(lines[j]) == "" {
			j++
		}
		if j == len(lines) || !strings.HasPrefix(lines[j], "```") {
			return nil, fmt.Errorf("README.md:%d: quickstart marker %q is not followed by a fenced block", i+1, name)
		}
		var body []string
		k := j + 1
		for ; k < len(lines) && !strings.HasPrefix(lines[k], "```"); k++ {
			body = append(body, lines[k])
		}
		if k == len(lines) {
			return nil, fmt.Errorf("README.md:%d: the block of quickstart %q is not closed", j+1, name)
		}
		out[name] = strings.Join(body, "\n") + "\n"
		i = k
	}
	return out, nil
}
