package systemd

import (
	"encoding/binary"
	"fmt"
	"path"
	"strconv"
	"strings"

	"github.com/lbdoctor/lbdoctor/parsers"
)

// addressFamilies is systemd 252's config_parse_address_families(): an
// empty value resets the setting, "none" allows no family at all, a first
// assignment decides between an allow list and (with "~") a deny list, and
// a later one of the other kind removes its families from the list.
func (u *Unit) addressFamilies(a assignment) {
	v := a.value
	switch v {
	case "":
		u.families, u.familiesAllow = nil, false
		return
	case "none":
		u.families, u.familiesAllow = nil, true
		return
	}
	invert := strings.HasPrefix(v, "~")
	if invert {
		v = v[1:]
	}
	if u.families == nil {
		u.families, u.familiesAllow = map[string]bool{}, !invert
	}
	for _, w := range splitWords(v) {
		if !validFamily(w) {
			u.Errors = append(u.Errors, parsers.Error{Pos: a.pos, Msg: fmt.Sprintf("unknown address family %q in RestrictAddressFamilies=, ignoring it", w)})
			continue
		}
		if invert != u.familiesAllow {
			u.families[w] = true
		} else {
			delete(u.families, w)
		}
	}
}

// familiesRestricted reports whether RestrictAddressFamilies= is in force:
// an allow list (even an empty one), or a deny list naming a family.
func (u *Unit) familiesRestricted() bool {
	return u.familiesAllow || len(u.families) > 0
}

// validFamily accepts the names af_from_name() knows: "AF_" and an upper
// case name. lbdoctor only ever asks about AF_UNIX, AF_INET and AF_INET6.
func validFamily(s string) bool {
	rest, ok := strings.CutPrefix(s, "AF_")
	return ok && rest != "" && strings.Trim(rest, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") == ""
}

// AddressFamilyAllowed reports whether socket() with the family ("AF_INET6")
// passes the unit's RestrictAddressFamilies= filter; systemd's seccomp
// filter fails it with EAFNOSUPPORT otherwise.
func (u *Unit) AddressFamilyAllowed(family string) bool {
	if u == nil || u.Masked || !u.familiesRestricted() {
		return true
	}
	return u.families[family] == u.familiesAllow
}

// bindRule is one SocketBindAllow=/SocketBindDeny= rule: family 0 (both), 4
// or 6, proto "" (both), "tcp" or "udp", and a port range, 0-0 for any.
type bindRule struct {
	text           string
	family         int
	proto          string
	portLo, portHi int
}

// parseBindRule reads "any" or "[ipv4|ipv6:][tcp|udp:][PORT|LOW-HIGH]" as
// systemd.resource-control(5) describes it.
func parseBindRule(s string) (bindRule, bool) {
	r := bindRule{text: s}
	if s == "any" {
		return r, true
	}
	parts := strings.Split(s, ":")
	if len(parts) > 3 {
		return r, false
	}
	i := 0
	switch parts[i] {
	case "ipv4":
		r.family, i = 4, i+1
	case "ipv6":
		r.family, i = 6, i+1
	}
	if i < len(parts) && (parts[i] == "tcp" || parts[i] == "udp") {
		r.proto, i = parts[i], i+1
	}
	switch len(parts) - i {
	case 0:
		return r, i > 0
	case 1:
	default:
		return r, false
	}
	lo, hi, isRange := strings.Cut(parts[i], "-")
	var err1, err2 error
	r.portLo, err1 = strconv.Atoi(lo)
	r.portHi = r.portLo
	if isRange {
		r.portHi, err2 = strconv.Atoi(hi)
	}
	if err1 != nil || err2 != nil || r.portLo < 1 || r.portHi > 65535 || r.portLo > r.portHi {
		return r, false
	}
	return r, true
}

func (r bindRule) matches(ipv6 bool, proto string, port int) bool {
	if r.family == 4 && ipv6 || r.family == 6 && !ipv6 {
		return false
	}
	if r.proto != "" && r.proto != proto {
		return false
	}
	return r.portLo == 0 || (port >= r.portLo && port <= r.portHi)
}

// socketBind is config_parse_cgroup_socket_bind(): one rule per
// assignment, an empty one clearing the list.
func (u *Unit) socketBind(a assignment) {
	list, shown := &u.allow, &u.SocketBindAllow
	if a.key == keySocketBindDeny {
		list, shown = &u.deny, &u.SocketBindDeny
	}
	if a.value == "" {
		*list, *shown = nil, nil
		return
	}
	r, ok := parseBindRule(a.value)
	if !ok {
		u.Errors = append(u.Errors, parsers.Error{Pos: a.pos, Msg: fmt.Sprintf("failed to parse %s= rule, ignoring: %s", a.key, a.value)})
		return
	}
	*list = append(*list, r)
	*shown = append(*shown, r.text)
}

// SocketBindDenied returns the SocketBindDeny= rule that makes the unit's
// cgroup BPF program refuse bind() of the port (EPERM), or "" when the
// bind is allowed: a matching SocketBindAllow= rule allows it, else a
// matching SocketBindDeny= rule denies it, else it is allowed.
func (u *Unit) SocketBindDenied(ipv6 bool, proto string, port int) string {
	if u == nil || u.Masked {
		return ""
	}
	for _, r := range u.allow {
		if r.matches(ipv6, proto, port) {
			return ""
		}
	}
	for _, r := range u.deny {
		if r.matches(ipv6, proto, port) {
			return r.text
		}
	}
	return ""
}

// The layout of the security.capability attribute (linux/capability.h).
const (
	vfsCapRevisionMask = 0xFF000000
	vfsCapRevision2    = 0x02000000
	vfsCapRevision3    = 0x03000000
	vfsCapFlagsEffect  = 0x000001
)

// parseFileCaps reads a security.capability attribute: the permitted set
// and whether it is raised into the effective set at exec.
func parseFileCaps(b []byte) (permitted uint64, effective, ok bool) {
	if len(b) < 4 {
		return 0, false, false
	}
	magic := binary.LittleEndian.Uint32(b)
	switch magic & vfsCapRevisionMask {
	case vfsCapRevision2, vfsCapRevision3:
		if len(b) < 20 {
			return 0, false, false
		}
		lo := binary.LittleEndian.Uint32(b[4:])
		hi := binary.LittleEndian.Uint32(b[12:])
		return uint64(hi)<<32 | uint64(lo), magic&vfsCapFlagsEffect != 0, true
	case 0x01000000: // revision 1: one 32-bit set
		if len(b) < 12 {
			return 0, false, false
		}
		return uint64(binary.LittleEndian.Uint32(b[4:])), magic&vfsCapFlagsEffect != 0, true
	}
	return 0, false, false
}

// readFileCaps reads the file capabilities of the ExecStart= program below
// root, when it names one by absolute path.
func (u *Unit) readFileCaps(root parsers.Root) {
	if !path.IsAbs(u.ExecStart) {
		return
	}
	resolved, err := root.Chase(u.ExecStart)
	if err != nil {
		return
	}
	b, err := getxattr(root.Path(resolved), "security.capability")
	if err != nil || b == nil {
		return
	}
	if caps, eff, ok := parseFileCaps(b); ok {
		u.fileCaps, u.FileCapabilitiesEffective = caps, eff
	}
}
