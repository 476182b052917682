package haproxy

import (
	"strings"
)

// kwMode says how strictly first words are checked, from Options.Version.
type kwMode int8

const (
	kwLenient kwMode = iota // unknown or later version: 2.6's words and later ones
	kwStrict                // HAProxy 2.6: exactly 2.6's words
	kwOff                   // an older HAProxy, whose words are not tabulated
)

// maxFatal is the number of fatal errors in one file after which HAProxy
// stops reading it ("too many fatal errors").
const maxFatal = 50

// sectionBit is the keyword set of a section kind, or 0 for the sections
// whose words are not checked: HAProxy 2.6 ignores unknown words in
// "namespace_list", and later versions' sections are not tabulated.
func sectionBit(kind string) kwBits {
	switch kind {
	case "global":
		return kwGlobal
	case "defaults", "frontend", "backend", "listen":
		return kwProxy
	case "peers":
		return kwPeers
	case "resolvers":
		return kwResolvers
	case "userlist":
		return kwUserlist
	case "mailers":
		return kwMailers
	case "program":
		return kwProgram
	case "cache":
		return kwCache
	case "ring":
		return kwRing
	case "http-errors":
		return kwHTTPErrors
	case "fcgi-app":
		return kwFCGIApp
	case "log-forward":
		return kwLogForward
	}
	return 0
}

// knownKeyword reports whether HAProxy accepts kw as the first word of a
// line of a section of the given kind. It is one map lookup for the words
// of real configurations; only unknown words reach the prefix list.
func (p *parser) knownKeyword(kind, kw string) bool {
	bit := sectionBit(kind)
	if bit == 0 || p.kwMode == kwOff {
		return true
	}
	bits := keywords[kw]
	if p.kwMode == kwLenient && bits&kwLater != 0 {
		return true
	}
	if bits&bit != 0 {
		return true
	}
	if bit == kwGlobal {
		for _, pfx := range optionalGlobal {
			if strings.HasPrefix(kw, pfx) {
				return true
			}
		}
	}
	return false
}

// checkKeyword reports kw, the first word of a line of section sec, when
// HAProxy 2.6 does not know it, in HAProxy's words. It returns false when
// HAProxy stops reading the configuration there.
//
// Lines of branches of ".if" blocks that may not be taken are not judged:
// HAProxy would not read them if the branch is not taken.
func (p *parser) checkKeyword(file string, lineno int, kw string, sec *section) bool {
	if p.knownKeyword(sec.kind, kw) || p.condText != "" {
		return true
	}
	switch sec.kind {
	case "global", "defaults", "frontend", "backend", "listen":
		regd, common := registeredProxy, commonProxy
		if sec.kind == "global" {
			regd, common = registeredGlobal, commonGlobal
		}
		if best := bestMatch(kw, regd, common); best != "" {
			p.errorf(file, lineno, "unknown keyword '%s' in '%s' section; did you mean '%s' maybe ?", kw, sec.kind, best)
		} else {
			p.errorf(file, lineno, "unknown keyword '%s' in '%s' section", kw, sec.kind)
		}
	case "userlist":
		p.errorf(file, lineno, "unknown keyword '%s' in 'users' section", kw)
	case "ring":
		p.errorf(file, lineno, "unknown statement '%s'.", kw)
	case "log-forward":
		// This one is an ERR_ABORT: HAProxy reads no further, not even
		// the next files.
		p.errorf(file, lineno, "unknown keyword '%s' in log-forward section.", kw)
		p.aborted = true
		return false
	default:
		p.errorf(file, lineno, "unknown keyword '%s' in '%s' section", kw, sec.kind)
	}
	return true
}

// checkCapability reports the server lines of a frontend: HAProxy 2.6
// refuses them, while it only warns about the other backend keywords there
// ("balance", "cookie", ...) and about frontend keywords in a backend.
func (p *parser) checkCapability(file string, lineno int, kw string, sec *section) {
	if sec.kind != "frontend" || p.kwMode == kwOff || p.condText != "" {
		return
	}
	switch kw {
	case "server", "default-server", "server-template":
		p.errorf(file, lineno, "'%s' not allowed because frontend '%s' has no backend capability.", kw, sec.name)
	}
}

// checkModifier judges a line starting with "no" or "default": HAProxy
// 2.6 refuses them before most keywords, then reads the line without the
// modifier. It returns false when HAProxy stops reading.
func (p *parser) checkModifier(file string, lineno int, args []string, sec *section) bool {
	kw := arg(args, 1)
	if p.kwMode == kwStrict && !negatable[kw] {
		p.errorf(file, lineno, "negation/default currently supported only for options, log, busy-polling, set-dumpable, strict-limits, insecure-fork-wanted and numa-cpu-mapping.")
	}
	if sec.kind == "" {
		p.errorf(file, lineno, "unknown keyword '%s' out of section.", kw)
		return true
	}
	return p.checkKeyword(file, lineno, kw, sec)
}

// fingerprint is HAProxy's word fingerprint (make_word_fingerprint()): the
// count of each transition between two character classes (a letter, a
// digit, anything else, or the word's begin and end), and a mark for each
// class present. Two words are the closer the smaller the sum of the
// differences of their counts.
type fingerprint [1024]uint8

func makeFingerprint(word string) *fingerprint {
	var fp fingerprint
	const edge = 28
	from := edge
	for i := 0; i < len(word); i++ {
		c := word[i]
		to := edge
		switch {
		case c >= 'a' && c <= 'z':
			to = int(c-'a') + 1
		case c >= 'A' && c <= 'Z':
			to = int(c-'A') + 1
		case c >= '0' && c <= '9':
			to = 27
		}
		fp[to] = 1
		fp[32*from+to]++
		from = to
	}
	fp[32*from+edge]++
	return &fp
}

func (a *fingerprint) distance(b *fingerprint) int {
	d := 0
	for i := range a {
		k := int(a[i]) - int(b[i])
		if k < 0 {
			k = -k
		}
		d += k
	}
	return d
}

// bestMatch is the keyword HAProxy suggests for an unknown word: the
// closest of the candidate lists, the first one on a tie, none when even
// the closest is far from either word.
func bestMatch(word string, lists ...[]string) string {
	fp := makeFingerprint(word)
	best, bestDist := "", int(^uint(0)>>1)
	for _, list := range lists {
		for _, kw := range list {
			if d := fp.distance(makeFingerprint(kw)); d < bestDist {
				best, bestDist = kw, d
			}
		}
	}
	if bestDist > 2*len(word) || (best != "" && bestDist > 2*len(best)) {
		return ""
	}
	return best
}
