package e2e

import (
	"fmt"
	"strings"
	"testing"
)

// ghExpr evaluates the subset of GitHub Actions expressions signet's
// workflows use: context references (looked up by lookup, which fails the
// test for a name it does not know), 'string' literals, ==, != (case
// insensitive, as GitHub compares strings), !, &&, || (returning an
// operand, as GitHub does), parentheses and the status functions.
type ghExpr struct {
	t      *testing.T
	src    string
	toks   []string
	pos    int
	lookup func(name string) string
}

func evalExpr(t *testing.T, src string, lookup func(string) string) string {
	t.Helper()
	e := &ghExpr{t: t, src: src, toks: tokenize(t, src), lookup: lookup}
	v := e.or()
	if e.pos != len(e.toks) {
		t.Fatalf("expression %q: unexpected %q", src, e.toks[e.pos])
	}
	return v
}

func tokenize(t *testing.T, s string) []string {
	var toks []string
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n':
			i++
		case c == '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				t.Fatalf("expression %q: unterminated string", s)
			}
			toks = append(toks, s[i:i+j+2])
			i += j + 2
		case strings.HasPrefix(s[i:], "==") || strings.HasPrefix(s[i:], "!=") || strings.HasPrefix(s[i:], "&&") || strings.HasPrefix(s[i:], "||"):
			toks = append(toks, s[i:i+2])
			i += 2
		case c == '!' || c == '(' || c == ')':
			toks = append(toks, string(c))
			i++
		default:
			j := i
			for j < len(s) && strings.IndexByte(" \t\n'=!&|()", s[j]) < 0 {
				j++
			}
			toks = append(toks, s[i:j])
			i = j
		}
	}
	return toks
}

func (e *ghExpr) peek() string {
	if e.pos < len(e.toks) {
		return e.toks[e.pos]
	}
	return ""
}

func (e *ghExpr) next() string { tok := e.peek(); e.pos++; return tok }

func (e *ghExpr) or() string {
	v := e.and()
	for e.peek() == "||" {
		e.next()
		r := e.and()
		if v == "" || v == "false" {
			v = r
		}
	}
	return v
}

func (e *ghExpr) and() string {
	v := e.cmp()
	for e.peek() == "&&" {
		e.next()
		r := e.cmp()
		if v != "" && v != "false" {
			v = r
		}
	}
	return v
}

func (e *ghExpr) cmp() string {
	v := e.unary()
	if op := e.peek(); op == "==" || op == "!=" {
		e.next()
		r := e.unary()
		if strings.EqualFold(v, r) == (op == "==") {
			return "true"
		}
		return "false"
	}
	return v
}

func (e *ghExpr) unary() string {
	switch tok := e.next(); {
	case tok == "!":
		if v := e.unary(); v == "" || v == "false" {
			return "true"
		}
		return "false"
	case tok == "(":
		v := e.or()
		if e.next() != ")" {
			e.t.Fatalf("expression %q: missing )", e.src)
		}
		return v
	case strings.HasPrefix(tok, "'"):
		return tok[1 : len(tok)-1]
	case tok == "cancelled" || tok == "success" || tok == "always" || tok == "failure":
		if e.next() != "(" || e.next() != ")" {
			e.t.Fatalf("expression %q: %s needs ()", e.src, tok)
		}
		return map[string]string{"cancelled": "false", "success": "true", "always": "true", "failure": "false"}[tok]
	case tok == "":
		e.t.Fatalf("expression %q ends early", e.src)
	default:
		return e.lookup(tok)
	}
	return ""
}

func TestGHExpr(t *testing.T) {
	ctx := map[string]string{"inputs.digest": "", "needs.build.result": "skipped", "vars.R": "", "env.X": "x"}
	lookup := func(n string) string {
		v, ok := ctx[n]
		if !ok {
			t.Fatalf("unknown %s", n)
		}
		return v
	}
	for expr, want := range map[string]string{
		"inputs.digest == ''": "true",
		"!cancelled() && (needs.build.result == 'success' || (needs.build.result == 'skipped' && inputs.digest != ''))": "false",
		"vars.R || 'ghcr.io'":             "ghcr.io",
		"env.X || 'y'":                    "x",
		"needs.build.result == 'SKIPPED'": "true",
	} {
		if got := evalExpr(t, expr, lookup); got != want {
			t.Errorf("%s = %q, want %q", expr, got, want)
		}
	}
	_ = fmt.Sprint
}
