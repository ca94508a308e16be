package policy

import (
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// DN is an X.509 distinguished name as the Notary Project compares them:
// one value per attribute type ("C", "ST", "O", "OU", "CN"...), types in
// upper case, "S" read as "ST". Multi-valued RDNs and repeated types are
// refused on both sides (the trust file and the certificate), as notation
// refuses them, so a name never matches by the choice of one of two values.
type DN map[string]string

// dnRequired are the attributes a pinned subject must name at least: the
// Notary Project's minimum for an x509.subject trusted identity. Without
// them a pin would accept subjects of any organization the CA serves.
var dnRequired = []string{"C", "ST", "O"}

// attributeNames are the short names of the attribute types Go's
// pkix.Name.String prints by name; any other type is compared by its
// dotted OID.
var attributeNames = map[string]string{
	"2.5.4.6": "C", "2.5.4.10": "O", "2.5.4.11": "OU", "2.5.4.3": "CN", "2.5.4.5": "SERIALNUMBER",
	"2.5.4.7": "L", "2.5.4.8": "ST", "2.5.4.9": "STREET", "2.5.4.17": "POSTALCODE",
}

// ParseDN parses an RFC 4514 distinguished name ("CN=release,O=Acme\,
// Inc.,ST=WA,C=US"; the order of RDNs does not matter). Hex-encoded values
// ("=#04...") are refused, as notation refuses them.
func ParseDN(s string) (DN, error) {
	if strings.TrimSpace(s) == "" {
		return nil, fmt.Errorf("empty distinguished name")
	}
	dn := DN{}
	for _, rdn := range splitUnescaped(s, ',') {
		if len(splitUnescaped(rdn, '+')) > 1 {
			return nil, fmt.Errorf("distinguished name %q has a multi-valued RDN %q, which the Notary Project does not support", s, strings.TrimSpace(rdn))
		}
		typ, val, ok := strings.Cut(rdn, "=")
		typ = normalType(typ)
		if !ok || typ == "" {
			return nil, fmt.Errorf("distinguished name %q: %q is not TYPE=value", s, strings.TrimSpace(rdn))
		}
		val = trimDN(val)
		if strings.HasPrefix(val, "#") {
			return nil, fmt.Errorf("distinguished name %q: hex-encoded value of %s is not supported", s, typ)
		}
		v, err := unescapeDN(val)
		if err != nil {
			return nil, fmt.Errorf("distinguished name %q: %s: %v", s, typ, err)
		}
		if err := dn.add(typ, v); err != nil {
			return nil, fmt.Errorf("distinguished name %q: %v", s, err)
		}
	}
	return dn, nil
}

// SubjectDN reads a certificate subject as a DN.
func SubjectDN(name pkix.Name) (DN, error) {
	dn := DN{}
	for _, atv := range name.Names {
		v, ok := atv.Value.(string)
		if !ok {
			return nil, fmt.Errorf("subject attribute %s is not a string", atv.Type)
		}
		if err := dn.add(oidName(atv.Type), v); err != nil {
			return nil, fmt.Errorf("subject %q: %v", name.String(), err)
		}
	}
	return dn, nil
}

func oidName(oid asn1.ObjectIdentifier) string {
	s := oid.String()
	if n, ok := attributeNames[s]; ok {
		return n
	}
	return s
}

func (dn DN) add(typ, v string) error {
	if _, dup := dn[typ]; dup {
		return fmt.Errorf("attribute %s appears twice, which the Notary Project does not support", typ)
	}
	dn[typ] = v
	return nil
}

func normalType(t string) string {
	t = strings.ToUpper(strings.TrimSpace(t))
	if t == "S" {
		return "ST"
	}
	return t
}

// Missing lists the attributes of dnRequired dn lacks.
func (dn DN) Missing() []string {
	var out []string
	for _, a := range dnRequired {
		if dn[a] == "" {
			out = append(out, a)
		}
	}
	return out
}

// Subset reports whether every attribute of dn has the same value in other.
func (dn DN) Subset(other DN) bool {
	for k, v := range dn {
		if other[k] != v {
			return false
		}
	}
	return true
}

// Equal reports whether dn and other name the same attributes and values.
func (dn DN) Equal(other DN) bool { return maps.Equal(dn, other) }

// String is the DN with its types sorted: one spelling per name, for
// hashes and messages.
func (dn DN) String() string {
	keys := slices.Sorted(maps.Keys(dn))
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + escapeDN(dn[k])
	}
	return strings.Join(parts, ", ")
}

// splitUnescaped splits s at sep where sep is not escaped by a backslash.
func splitUnescaped(s string, sep byte) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case sep:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// trimDN removes the spaces around a value, but not an escaped one ("\ ").
func trimDN(v string) string {
	v = strings.TrimLeft(v, " ")
	for strings.HasSuffix(v, " ") && !escapedAt(v, len(v)-1) {
		v = v[:len(v)-1]
	}
	return v
}

// escapedAt reports whether v[i] is preceded by an odd number of backslashes.
func escapedAt(v string, i int) bool {
	n := 0
	for j := i - 1; j >= 0 && v[j] == '\\'; j-- {
		n++
	}
	return n%2 == 1
}

// unescapeDN resolves RFC 4514 escapes: "\," and the other specials, and
// "\2C" hex pairs.
func unescapeDN(v string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		if v[i] != '\\' {
			b.WriteByte(v[i])
			continue
		}
		if i+1 >= len(v) {
			return "", fmt.Errorf("value %q ends in a lone backslash", v)
		}
		if i+2 < len(v) && isHex(v[i+1]) && isHex(v[i+2]) {
			b.WriteByte(unhex(v[i+1])<<4 | unhex(v[i+2]))
			i += 2
			continue
		}
		if !strings.ContainsRune(`,+"\<>;= #`, rune(v[i+1])) {
			return "", fmt.Errorf("value %q has an invalid escape \\%c", v, v[i+1])
		}
		b.WriteByte(v[i+1])
		i++
	}
	return b.String(), nil
}

func escapeDN(v string) string {
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		if strings.IndexByte(`,+"\<>;=`, v[i]) >= 0 || (i == 0 && (v[i] == ' ' || v[i] == '#')) || (i == len(v)-1 && v[i] == ' ') {
			b.WriteByte('\\')
		}
		b.WriteByte(v[i])
	}
	return b.String()
}

func isHex(c byte) bool { return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F' }

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	}
	return c - 'a' + 10
}
