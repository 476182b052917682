package systemd

import (
	"strconv"
	"strings"
)

// capNetBindService is CAP_NET_BIND_SERVICE's number.
const capNetBindService = 10

// capAll is every capability bit, systemd's CAP_ALL: the bounding set a
// unit has until it says otherwise.
const capAll = ^uint64(0)

// capKnown has a bit for every capability in capNames.
const capKnown = uint64(1)<<len(capabilityNames) - 1

// capabilityNames are the kernel's capabilities by number, up to
// CAP_CHECKPOINT_RESTORE (40, Linux 5.9).
var capabilityNames = [...]string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER",
	"CAP_FSETID", "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP",
	"CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST",
	"CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER",
	"CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE",
	"CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
	"CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD",
	"CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP",
	"CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM",
	"CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF",
	"CAP_CHECKPOINT_RESTORE",
}

// capFromName is systemd's capability_from_name(): a number below 64, or a
// name in any case.
func capFromName(s string) (uint, bool) {
	if n, err := strconv.Atoi(s); err == nil {
		return uint(n), n >= 0 && n < 64
	}
	for i, name := range capabilityNames {
		if strings.EqualFold(s, name) {
			return uint(i), true
		}
	}
	return 0, false
}

// capNames lists the known capabilities in set, lowest number first; nil
// when there are none.
func capNames(set uint64) []string {
	var out []string
	for i, name := range capabilityNames {
		if set&(1<<i) != 0 {
			out = append(out, name)
		}
	}
	return out
}
