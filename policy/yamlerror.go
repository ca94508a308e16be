package policy

import (
	"errors"
	"fmt"
	"strings"

	goccy "github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/parser"
)

// yaml.v3 decides whether a trust file is valid YAML, but its syntax errors
// carry only a line, and for parser errors that line is the start of the
// enclosing construct ("while parsing a block mapping"), often many lines
// before the mistake: its fail() prefers the context mark to the problem
// mark and drops the column. When yaml.v3 refuses a file, YAMLError re-scans
// it with goccy/go-yaml's parser, which reports the token where the file
// stopped making sense, and uses that position and message.

// YAMLError turns a yaml.v3 syntax error ("yaml: line 3: ...") in data,
// read from file, into a FieldError at the line and column of the actual
// mistake. Trust files and the manifests `sign verify -f` reads use it.
func YAMLError(file string, data []byte, err error) FieldError {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	var line int
	if _, scanErr := fmt.Sscanf(msg, "line %d:", &line); scanErr == nil {
		msg = strings.TrimSpace(msg[strings.Index(msg, ":")+1:])
	}
	fe := FieldError{File: file, Line: line, Column: firstColumn(data, line), Msg: "invalid YAML: " + msg}
	if l, c, m, ok := locateSyntaxError(data); ok {
		fe.Line, fe.Column, fe.Msg = l, c, "invalid YAML: "+m
	}
	return fe
}

// locateSyntaxError re-parses data and returns the 1-based position and
// message of its first syntax error.
func locateSyntaxError(data []byte) (line, column int, msg string, ok bool) {
	defer func() {
		if recover() != nil { // a second opinion must never take the loader down
			ok = false
		}
	}()
	_, err := parser.ParseBytes(data, 0)
	var se *goccy.SyntaxError
	if !errors.As(err, &se) || se.Token == nil || se.Token.Position == nil || se.Token.Position.Line < 1 {
		return 0, 0, "", false
	}
	return se.Token.Position.Line, max(se.Token.Position.Column, 1), se.Message, true
}

// firstColumn is the 1-based column of the first non-blank character of
// line (1-based), or 1.
func firstColumn(data []byte, line int) int {
	lines := strings.Split(string(data), "\n")
	if line < 1 || line > len(lines) {
		return 1
	}
	return len(lines[line-1]) - len(strings.TrimLeft(lines[line-1], " \t")) + 1
}
