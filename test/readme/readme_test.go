package readme

import (
	"strings"
	"testing"
)

func TestBlocks(t *testing.T) {
	got, err := Blocks("# x\n<!-- quickstart: a -->\n\n```yaml\nk: v\n```\ntext\n<!-- quickstart: b c -->\n```sh\necho 1\necho 2\n```\n")
	if err != nil || got["a"] != "k: v\n" || got["b c"] != "echo 1\necho 2\n" || len(got) != 2 {
		t.Fatalf("got %q, %v", got, err)
	}
	for name, md := range map[string]string{
		"a marker without a block": "<!-- quickstart: a -->\ntext\n",
		"a block not closed":       "<!-- quickstart: a -->\n```\nx\n",
		"a name used twice":        "<!-- quickstart: a -->\n```\nx\n```\n<!-- quickstart: a -->\n```\ny\n```\n",
	} {
		if _, err := Blocks(md); err == nil || !strings.Contains(err.Error(), "README.md:") {
			t.Errorf("%s: error %v, want one naming the line", name, err)
		}
	}
}
