package report

import (
	"strconv"
	"unicode/utf8"
)

// appendIndented (of jsonFinding and jsonListener) writes the value as
// json.MarshalIndent(v, pad, "  ") would, byte for byte, without
// reflection: findings and listeners are tens of thousands per report, and
// encoding/json's reflection and re-indenting were a third of
// "check --json" (TestJSONFastPathMatches compares the two).

// jsonObject appends the members of one indented object.
type jsonObject struct {
	b     []byte
	pad   string
	first bool
}

func openObject(dst []byte, pad string) jsonObject {
	return jsonObject{b: append(dst, '{'), pad: pad, first: true}
}

func (o *jsonObject) key(name string) {
	if !o.first {
		o.b = append(o.b, ',')
	}
	o.first = false
	o.b = append(o.b, '\n')
	o.b = append(o.b, o.pad...)
	o.b = append(o.b, "  \""...)
	o.b = append(o.b, name...)
	o.b = append(o.b, "\": "...)
}

func (o *jsonObject) str(name, v string) {
	o.key(name)
	o.b = appendJSONString(o.b, v)
}

func (o *jsonObject) strOmit(name, v string) {
	if v != "" {
		o.str(name, v)
	}
}

func (o *jsonObject) int(name string, v int) {
	o.key(name)
	o.b = strconv.AppendInt(o.b, int64(v), 10)
}

func (o *jsonObject) intOmit(name string, v int) {
	if v != 0 {
		o.int(name, v)
	}
}

// strs writes a list of strings; nil is null, as encoding/json has it.
func (o *jsonObject) strs(name string, v []string) {
	o.key(name)
	switch {
	case v == nil:
		o.b = append(o.b, "null"...)
	case len(v) == 0:
		o.b = append(o.b, "[]"...)
	default:
		o.b = append(o.b, '[')
		for i, s := range v {
			if i > 0 {
				o.b = append(o.b, ',')
			}
			o.b = append(o.b, '\n')
			o.b = append(o.b, o.pad...)
			o.b = append(o.b, "    "...)
			o.b = appendJSONString(o.b, s)
		}
		o.b = append(o.b, '\n')
		o.b = append(o.b, o.pad...)
		o.b = append(o.b, "  ]"...)
	}
}

func (o *jsonObject) close() []byte {
	if o.first {
		return append(o.b, '}')
	}
	o.b = append(o.b, '\n')
	o.b = append(o.b, o.pad...)
	return append(o.b, '}')
}

func (f jsonFinding) appendIndented(dst []byte, pad string) []byte {
	o := openObject(dst, pad)
	o.str("id", f.ID)
	o.str("severity", f.Severity)
	o.str("service", f.Service)
	o.str("file", f.File)
	o.int("line", f.Line)
	o.strOmit("address", f.Address)
	o.intOmit("port", f.Port)
	o.str("message", f.Message)
	o.strOmit("daemon_error", f.DaemonError)
	o.str("why", f.Why)
	o.strs("fix", f.Fix)
	o.strOmit("errno", f.Errno)
	return o.close()
}

func (l jsonListener) appendIndented(dst []byte, pad string) []byte {
	o := openObject(dst, pad)
	o.str("address", l.Address)
	o.int("port", l.Port)
	o.str("proto", l.Proto)
	o.str("file", l.File)
	o.int("line", l.Line)
	o.str("status", l.Status)
	o.str("errno", l.Errno)
	o.strOmit("finding", l.Finding)
	o.strOmit("via", l.Via)
	o.strOmit("context", l.Context)
	o.strOmit("raw", l.Raw)
	o.strOmit("unjudged", l.Unjudged)
	o.strOmit("conditional", l.Conditional)
	return o.close()
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s quoted as encoding/json quotes a string: HTML
// characters, control characters, U+2028 and U+2029 escaped, invalid UTF-8
// as \ufffd.
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if b := s[i]; b < utf8.RuneSelf {
			if b >= 0x20 && b != '"' && b != '\\' && b != '<' && b != '>' && b != '&' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '\\', '"':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
