package deploy

import (
	"regexp"
	"strings"
)

// selector is one metric a PromQL expression reads, with the labels it
// matches on and the values it requires (equality, or a plain alternation).
type selector struct {
	metric string
	labels map[string][]string // label -> values it must be able to take (empty: any)
}

// query is what an expression needs of the metrics: its selectors and the
// labels it groups by.
type query struct {
	expr      string
	selectors []selector
	groupBy   []string
}

var (
	stringLit  = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)
	matcherRe  = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"`)
	selectorRe = regexp.MustCompile(`([a-zA-Z_:][a-zA-Z0-9_:]*)\s*\{([^}]*)\}`)
	groupingRe = regexp.MustCompile(`\b(by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)`)
	rangeRe    = regexp.MustCompile(`\[[^\]]*\]`)
	// An identifier: a metric, a function or a keyword (parseQuery tells
	// them apart by what precedes and follows). Matched without its
	// neighbours, so "rate(metric" yields both words.
	identRe  = regexp.MustCompile(`[a-zA-Z_:][a-zA-Z0-9_:]*`)
	plainAlt = regexp.MustCompile(`^[a-zA-Z0-9_|-]+$`)
)

var promqlKeywords = map[string]bool{"by": true, "without": true, "on": true, "ignoring": true, "group_left": true,
	"group_right": true, "and": true, "or": true, "unless": true, "offset": true, "bool": true, "inf": true, "nan": true}

// parseQuery extracts selectors and grouping labels from a PromQL expression.
// It is not a PromQL parser; it reads the subset dashboards and alerts use
// (selectors, ranges, aggregations with by/without, functions, arithmetic).
func parseQuery(expr string) query {
	q := query{expr: expr}
	rest := expr
	for _, m := range selectorRe.FindAllStringSubmatch(expr, -1) {
		sel := selector{metric: m[1], labels: map[string][]string{}}
		for _, lm := range matcherRe.FindAllStringSubmatch(m[2], -1) {
			var vals []string
			switch {
			case lm[2] == "=":
				vals = []string{lm[3]}
			case lm[2] == "=~" && plainAlt.MatchString(lm[3]):
				vals = strings.Split(lm[3], "|")
			}
			sel.labels[lm[1]] = vals
		}
		q.selectors = append(q.selectors, sel)
		rest = strings.Replace(rest, m[0], " ", 1)
	}
	for _, g := range groupingRe.FindAllStringSubmatch(rest, -1) {
		for _, l := range strings.Split(g[2], ",") {
			if l = strings.TrimSpace(l); l != "" {
				q.groupBy = append(q.groupBy, l)
			}
		}
	}
	rest = groupingRe.ReplaceAllString(rest, " ")
	rest = rangeRe.ReplaceAllString(stringLit.ReplaceAllString(rest, " "), " ")
	for _, loc := range identRe.FindAllStringIndex(rest, -1) {
		start, end := loc[0], loc[1]
		if start > 0 && strings.ContainsRune(identChars, rune(rest[start-1])) {
			continue // the tail of a longer word (a number's unit, a $variable)
		}
		word := rest[start:end]
		call := strings.HasPrefix(strings.TrimLeft(rest[end:], " \t\n"), "(")
		if call || promqlKeywords[strings.ToLower(word)] { // a function call or a keyword
			continue
		}
		q.selectors = append(q.selectors, selector{metric: word, labels: map[string][]string{}})
	}
	return q
}

// identChars may not precede an identifier: it would be part of another word.
const identChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_:.$"
