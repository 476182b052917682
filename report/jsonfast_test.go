package report

import (
	"encoding/json"
	"math/rand/v2"
	"testing"
)

// TestJSONFastPathMatches: findings and listeners written by
// appendIndented are byte for byte what json.MarshalIndent writes, for
// strings with every character class encoding/json escapes, empty and
// omitted fields, nil and empty lists, at the depths the report uses.
func TestJSONFastPathMatches(t *testing.T) {
	tricky := []string{"", "plain", "a\"b\\c", "<html>&amp;", "tab\there\nnl\rcr\bbs\fff",
		"\x00\x01\x1f\x7f", "héllo wörld ✓", "\u2028\u2029", "bad \xff\xfe utf8 \xc3", "\xe2\x80", "🙂 emoji"}
	r := rand.New(rand.NewPCG(1, 2))
	randStr := func() string {
		if r.IntN(3) == 0 {
			return tricky[r.IntN(len(tricky))]
		}
		b := make([]byte, r.IntN(12))
		for i := range b {
			b[i] = byte(r.IntN(256))
		}
		return string(b)
	}
	randFix := func() []string {
		switch r.IntN(3) {
		case 0:
			return nil
		case 1:
			return []string{}
		}
		f := make([]string, 1+r.IntN(3))
		for i := range f {
			f[i] = randStr()
		}
		return f
	}
	num := func() int { return []int{0, 1, -3, 65535, 1 << 40}[r.IntN(5)] }
	for i := range 20000 {
		pad := indent(i % 4)
		var v interface {
			appendIndented(dst []byte, pad string) []byte
		}
		if i%2 == 0 {
			v = jsonFinding{ID: randStr(), Severity: randStr(), Service: randStr(), File: randStr(), Line: num(),
				Address: randStr(), Port: num(), Message: randStr(), DaemonError: randStr(), Why: randStr(),
				Fix: randFix(), Errno: randStr()}
		} else {
			v = jsonListener{Address: randStr(), Port: num(), Proto: randStr(), File: randStr(), Line: num(),
				Status: randStr(), Errno: randStr(), Finding: randStr(), Via: randStr(), Context: randStr(),
				Raw: randStr(), Unjudged: randStr(), Conditional: randStr()}
		}
		want, err := json.MarshalIndent(v, pad, "  ")
		if err != nil {
			t.Fatal(err)
		}
		if got := v.appendIndented(nil, pad); string(got) != string(want) {
			t.Fatalf("%#v at pad %q:\n got %s\nwant %s", v, pad, got, want)
		}
	}
	for _, s := range tricky {
		want, _ := json.Marshal(s)
		if got := appendJSONString(nil, s); string(got) != string(want) {
			t.Errorf("%q: got %s, want %s", s, got, want)
		}
	}
}
