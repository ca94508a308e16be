package suggest

import "testing"

func TestClosest(t *testing.T) {
	known := []string{"verify", "version", "policy", "image", "identities", "images"}
	cases := []struct{ word, want string }{
		{"verfy", "verify"},         // a dropped letter
		{"VERIFY", "verify"},        // case
		{"versoin", "version"},      // a swap is two edits
		{"imagez", "image"},         // a tie goes to the name listed first
		{"imgaes", "images"},        // the nearest wins
		{"identites", "identities"}, // a dropped letter in a long word
		{"deploy", ""},              // another word: no suggestion
		{"", ""},                    // nothing typed
		{"x", ""},                   // one letter is no word
	}
	for _, c := range cases {
		if got := Closest(c.word, known); got != c.want {
			t.Errorf("Closest(%q) = %q, want %q", c.word, got, c.want)
		}
	}
}
