package host

import (
	"fmt"
	"reflect"
	"strings"

	"gopkg.in/yaml.v3"
)

// unknownFields lists, as yaml.v3's strict decoder words them, the mapping
// keys below n that no field of t takes. yaml.Node.Decode has no strict
// mode, and decoding twice (strictly, then into a node for the lines the
// value checks need) made parsing a big snapshot twice as slow.
func unknownFields(n *yaml.Node, t reflect.Type) []string {
	var out []string
	var walk func(n *yaml.Node, t reflect.Type, depth int)
	walk = func(n *yaml.Node, t reflect.Type, depth int) {
		// Aliases can nest; yaml.v3 refuses alias cycles while parsing,
		// and the bound keeps a crafted tree from recursing forever.
		if n == nil || depth > 1000 {
			return
		}
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		switch n.Kind {
		case yaml.DocumentNode:
			for _, c := range n.Content {
				walk(c, t, depth+1)
			}
		case yaml.AliasNode:
			walk(n.Alias, t, depth+1)
		case yaml.SequenceNode:
			if t.Kind() == reflect.Slice || t.Kind() == reflect.Array {
				for _, c := range n.Content {
					walk(c, t.Elem(), depth+1)
				}
			}
		case yaml.MappingNode:
			switch t.Kind() {
			case reflect.Map:
				for i := 1; i < len(n.Content); i += 2 {
					walk(n.Content[i], t.Elem(), depth+1)
				}
			case reflect.Struct:
				fields := yamlFields(t)
				for i := 0; i+1 < len(n.Content); i += 2 {
					k, v := n.Content[i], n.Content[i+1]
					if k.Kind == yaml.ScalarNode && k.Tag == "!!merge" {
						walk(v, t, depth+1)
						continue
					}
					ft, ok := fields[k.Value]
					if !ok {
						out = append(out, fmt.Sprintf("line %d: field %s not found in type %s", k.Line, k.Value, t))
						continue
					}
					walk(v, ft, depth+1)
				}
			}
		}
	}
	walk(n, t, 0)
	return out
}

// yamlFields maps each key yaml.v3 decodes into a struct to its field's
// type: the tag's name, or the field's name in lower case.
func yamlFields(t reflect.Type) map[string]reflect.Type {
	fields := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		if f.PkgPath != "" {
			continue
		}
		tag := f.Tag.Get("yaml")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		fields[name] = f.Type
	}
	return fields
}
