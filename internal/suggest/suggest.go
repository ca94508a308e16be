// Package suggest answers "did you mean …?" for a mistyped name: a trust
// file's field or identity, a command of sign or enforce. One measure for
// all of them, so a typo is caught the same way wherever it is made.
package suggest

import (
	"fmt"
	"strings"
)

// maxDistance is how many single-letter edits a typo may be away from the
// name it meant: enough for a swapped or dropped letter, not for another word.
const maxDistance = 2

// Closest returns the name in known nearest to word (letter case ignored),
// or "" when none is within a few edits. Ties go to the name listed first.
func Closest(word string, known []string) string {
	best, bestD := "", maxDistance+1
	lw := strings.ToLower(word)
	for _, k := range known {
		if d := distance(lw, strings.ToLower(k)); d < bestD {
			best, bestD = k, d
		}
	}
	return best
}

// DidYouMean is ` (did you mean "name"?)` for the closest name, or "".
func DidYouMean(word string, known []string) string {
	if c := Closest(word, known); c != "" {
		return fmt.Sprintf(" (did you mean %q?)", c)
	}
	return ""
}

// distance is the Levenshtein distance between a and b.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
