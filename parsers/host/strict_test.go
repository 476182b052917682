package host

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// TestUnknownFieldsMatchStrictDecoder holds unknownFields plus
// yaml.Node.Decode to what yaml.v3's strict decoder says of the same
// document: the same messages, in the same order.
func TestUnknownFieldsMatchStrictDecoder(t *testing.T) {
	for _, doc := range []string{
		"hostname: a\n",
		"hostname: a\nhostnme: b\n",
		"sockets:\n  - proto: tcp\n    owner: x\n  - proto: udp\n    colour: red\n",
		"interfaces:\n  - name: lo\n    index: one\n    mtu: 1500\n",
		"bogus: 1\nno_ipv6: maybe\nsysctls: {a: b}\nother: [1, 2]\n",
		"sysctls:\n  net.ipv4.ip_nonlocal_bind: \"1\"\n  nested: {x: 1}\n",
		"persisted_sysctls:\n  - name: a\n    value: b\n    where: c\n",
		"base: &b {name: lo, index: 1, up: true, speed: 1}\ninterfaces:\n  - *b\n  - <<: *b\n    name: eth0\n",
		"dirs:\n  - path: /run/x\n    exists: yes\n    mode: 0755\n",
		"addresses: 3\nroutes: []\n",
	} {
		var want []string
		dec := yaml.NewDecoder(strings.NewReader(doc))
		dec.KnownFields(true)
		var strict Facts
		if err := dec.Decode(&strict); err != nil {
			var te *yaml.TypeError
			if !errors.As(err, &te) {
				t.Fatalf("%q: %v", doc, err)
			}
			want = te.Errors
		}

		var root yaml.Node
		if err := yaml.Unmarshal([]byte(doc), &root); err != nil {
			t.Fatalf("%q: %v", doc, err)
		}
		var f Facts
		got := unknownFields(&root, reflect.TypeOf(f))
		if err := root.Decode(&f); err != nil {
			var te *yaml.TypeError
			if !errors.As(err, &te) {
				t.Fatalf("%q: %v", doc, err)
			}
			got = append(got, te.Errors...)
		}
		sortByLine(got)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%q:\n got %q\nwant %q", doc, got, want)
		}
	}
}
