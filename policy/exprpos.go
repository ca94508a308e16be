package policy

import (
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// A CEL error points into the expression (line and column of its own
// text); a trust file error points into the file. exprPositions maps each
// character of a scalar's value back to where YAML read it from, whatever
// the scalar's style: plain, quoted (escapes and all), literal `|` or
// folded `>` blocks. It aligns the value with the source text from the
// scalar's start, skipping only what YAML itself drops (indentation, line
// breaks it folded, quotes, escapes); if the two do not align, there is no
// map and errors point at the scalar's start.

// filePos is a 1-based line and column in the trust file.
type filePos struct{ line, column int }

func exprPositions(src []byte, n *yaml.Node) []filePos {
	if len(src) == 0 || n == nil || n.Line < 1 || n.Kind != yaml.ScalarNode {
		return nil
	}
	lines := strings.Split(string(src), "\n")
	if n.Line > len(lines) {
		return nil
	}
	c := &cursor{lines: make([][]rune, len(lines)), line: n.Line - 1, col: n.Column - 1}
	for i, l := range lines {
		c.lines[i] = []rune(strings.TrimSuffix(l, "\r"))
	}
	switch {
	case n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0:
		c.line, c.col = c.line+1, 0 // the content starts below the indicator
	case n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0:
		c.col++ // past the opening quote
	}
	value := []rune(n.Value)
	out := make([]filePos, 0, len(value))
	for _, v := range value {
		p, ok := c.next(v, n.Style)
		if !ok {
			return nil
		}
		out = append(out, p)
	}
	return out
}

type cursor struct {
	lines     [][]rune
	line, col int
}

func (c *cursor) at() (rune, bool) {
	if c.line < len(c.lines) && c.col >= len(c.lines[c.line]) {
		if c.col == len(c.lines[c.line]) && c.line+1 < len(c.lines) {
			return '\n', true
		}
		return 0, false
	}
	if c.line >= len(c.lines) {
		return 0, false
	}
	return c.lines[c.line][c.col], true
}

func (c *cursor) advance(k int) {
	for range k {
		if c.col >= len(c.lines[c.line]) {
			c.line, c.col = c.line+1, 0
		} else {
			c.col++
		}
	}
}

// next finds where value character v was read from and moves past it.
func (c *cursor) next(v rune, style yaml.Style) (filePos, bool) {
	for {
		s, ok := c.at()
		if !ok {
			return filePos{}, false
		}
		pos := filePos{c.line + 1, c.col + 1}
		switch {
		case s == '\\' && style&yaml.DoubleQuotedStyle != 0:
			if c.col+1 >= len(c.lines[c.line]) {
				c.advance(1) // an escaped line break: the value goes on below
				continue
			}
			n, ok := c.escape(v)
			if !ok {
				return filePos{}, false
			}
			c.advance(n)
			return pos, true
		case s == v:
			c.advance(1)
			if v == '\'' && style&yaml.SingleQuotedStyle != 0 {
				c.advance(1) // '' is one quote
			}
			return pos, true
		case s == ' ' || s == '\t' || s == '\n':
			c.advance(1)
		default:
			return filePos{}, false
		}
	}
}

// escape reports how many source characters the escape at the cursor
// spans, if it produces v.
func (c *cursor) escape(v rune) (int, bool) {
	line := c.lines[c.line]
	e := line[c.col+1]
	simple := map[rune]rune{'n': '\n', 't': '\t', 'r': '\r', '0': 0, 'a': 7, 'b': 8, 'e': 0x1b, 'f': '\f', 'v': '\v',
		'"': '"', '\\': '\\', '/': '/', ' ': ' ', '\t': '\t', 'N': 0x85, '_': 0xa0, 'L': 0x2028, 'P': 0x2029}
	if r, ok := simple[e]; ok {
		return 2, r == v
	}
	width := map[rune]int{'x': 2, 'u': 4, 'U': 8}[e]
	if width == 0 || c.col+2+width > len(line) {
		return 0, false
	}
	r, err := strconv.ParseUint(string(line[c.col+2:c.col+2+width]), 16, 32)
	return 2 + width, err == nil && rune(r) == v
}
