package main

import (
	encbin "encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// sandboxHelper is the command the test binary becomes (through
// testscript.Main) to start a daemon the way systemd's sandbox would: it
// installs a seccomp filter on socket() (RestrictAddressFamilies=) and
// execs the rest of its arguments, in a user namespace of their own
// (PrivateUsers=) when asked. The settings come as JSON in $LBD_SANDBOX.
const sandboxHelper = "lbd-sandbox-exec"

// sandboxSpec is what sandboxExecMain applies.
type sandboxSpec struct {
	// DenyFamilies are the socket() families failed with EAFNOSUPPORT.
	DenyFamilies []int `json:"deny_families,omitempty"`
	// Userns maps root and UID/GID to themselves, as PrivateUsers= does.
	Userns   bool `json:"userns,omitempty"`
	UID, GID int
}

// sandboxExecMain runs as the helper command; it never returns.
func sandboxExecMain() {
	fail := func(err error) {
		fmt.Fprintf(os.Stderr, "%s: %v\n", sandboxHelper, err)
		os.Exit(125)
	}
	var s sandboxSpec
	if err := json.Unmarshal([]byte(os.Getenv("LBD_SANDBOX")), &s); err != nil {
		fail(fmt.Errorf("$LBD_SANDBOX: %w", err))
	}
	if len(os.Args) < 2 {
		fail(errors.New("no command"))
	}
	argv := os.Args[1:]
	prog, err := exec.LookPath(argv[0])
	if err != nil {
		fail(err)
	}
	runtime.LockOSThread()
	if len(s.DenyFamilies) > 0 {
		if err := sandboxSeccomp(s.DenyFamilies); err != nil {
			fail(err)
		}
	}
	if !s.Userns {
		fail(syscall.Exec(prog, argv, os.Environ()))
	}
	cmd := exec.Command(prog, argv[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	ids := []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 1}}
	gids := []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 1}}
	if s.UID != 0 {
		ids = append(ids, syscall.SysProcIDMap{ContainerID: s.UID, HostID: s.UID, Size: 1})
	}
	if s.GID != 0 {
		gids = append(gids, syscall.SysProcIDMap{ContainerID: s.GID, HostID: s.GID, Size: 1})
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:                 syscall.CLONE_NEWUSER,
		UidMappings:                ids,
		GidMappings:                gids,
		GidMappingsEnableSetgroups: true,
		// The daemon dies with the helper the test stops.
		Pdeathsig: syscall.SIGKILL,
	}
	err = cmd.Run()
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		os.Exit(exitErr.ExitCode())
	}
	if err != nil {
		fail(err)
	}
	os.Exit(0)
}

// sandboxSeccomp fails socket() of the families with EAFNOSUPPORT in every
// thread of this process, as systemd's RestrictAddressFamilies= filter
// does (socketpair() stays allowed).
func sandboxSeccomp(families []int) error {
	const (
		auditArchX8664 = 0xc000003e
		retAllow       = 0x7fff0000
		retErrno       = 0x00050000
	)
	if runtime.GOARCH != "amd64" {
		return fmt.Errorf("the seccomp filter is written for amd64, not %s", runtime.GOARCH)
	}
	n := len(families)
	prog := []unix.SockFilter{
		{Code: unix.BPF_LD | unix.BPF_W | unix.BPF_ABS, K: 4}, // arch
		{Code: unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, Jt: 0, Jf: uint8(n + 3), K: auditArchX8664},
		{Code: unix.BPF_LD | unix.BPF_W | unix.BPF_ABS, K: 0}, // nr
		{Code: unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, Jt: 0, Jf: uint8(n + 1), K: unix.SYS_SOCKET},
		{Code: unix.BPF_LD | unix.BPF_W | unix.BPF_ABS, K: 16}, // args[0], low half
	}
	for i, f := range families {
		prog = append(prog, unix.SockFilter{Code: unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, Jt: uint8(n - i), Jf: 0, K: uint32(f)})
	}
	prog = append(prog,
		unix.SockFilter{Code: unix.BPF_RET | unix.BPF_K, K: retAllow},
		unix.SockFilter{Code: unix.BPF_RET | unix.BPF_K, K: retErrno | uint32(unix.EAFNOSUPPORT)},
	)
	fprog := unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}
	if _, _, e := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, unix.SECCOMP_FILTER_FLAG_TSYNC, uintptr(unsafe.Pointer(&fprog))); e != 0 {
		return fmt.Errorf("seccomp: %w", e)
	}
	return nil
}

// sandboxBindPrograms attaches to the cgroup dir a cgroup/bind4 and a bind6
// program that allow the ports in allow, refuse those in deny (or all
// others with denyAll), and allow the rest: the decision systemd's
// socket-bind program makes.
func sandboxBindPrograms(dir string, allow, deny []int, denyAll bool) error {
	const (
		bpfProgLoad         = 5
		bpfProgAttach       = 8
		progTypeSockAddr    = 18
		attachInet4Bind     = 8
		attachInet6Bind     = 9
		userPortOff         = 24 // struct bpf_sock_addr.user_port
		opLdxW              = 0x61
		opJeqK              = 0x15
		opMovK              = 0xb7
		opExit              = 0x95
		insnSize            = 8
		progLoadAttrSize    = 72
		progAttachAttrSize  = 16
		expectedAttachOff   = 68
		licenseOff, insnOff = 16, 8
	)
	insn := func(code, regs uint8, off int16, imm int32) []byte {
		b := make([]byte, insnSize)
		b[0], b[1] = code, regs
		encbin.LittleEndian.PutUint16(b[2:], uint16(off))
		encbin.LittleEndian.PutUint32(b[4:], uint32(imm))
		return b
	}
	htons := func(p int) int32 { return int32(uint16(p)>>8 | uint16(p)<<8) }
	// r2 = ctx->user_port; allowed ports jump to "r0 = 1", denied ones
	// to "r0 = 0"; the rest fall through to the default.
	var code [][]byte
	code = append(code, insn(opLdxW, 1<<4|2, userPortOff, 0))
	nAllow, nDeny := len(allow), len(deny)
	// After the checks: the default (r0 = def), then, only when some
	// rule jumps there (the verifier refuses unreachable code), "r0 = 1"
	// for allowed ports and "r0 = 0" for denied ones.
	allowAt := 1 + nAllow + nDeny + 2
	denyAt := allowAt
	if nAllow > 0 {
		denyAt += 2
	}
	for i, p := range allow {
		code = append(code, insn(opJeqK, 2, int16(allowAt-(1+i)-1), htons(p)))
	}
	for i, p := range deny {
		code = append(code, insn(opJeqK, 2, int16(denyAt-(1+nAllow+i)-1), htons(p)))
	}
	def := int32(1)
	if denyAll {
		def = 0
	}
	code = append(code, insn(opMovK, 0, 0, def), insn(opExit, 0, 0, 0))
	if nAllow > 0 {
		code = append(code, insn(opMovK, 0, 0, 1), insn(opExit, 0, 0, 0))
	}
	if nDeny > 0 {
		code = append(code, insn(opMovK, 0, 0, 0), insn(opExit, 0, 0, 0))
	}
	var text []byte
	for _, c := range code {
		text = append(text, c...)
	}
	license := []byte("GPL\x00")
	cg, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer cg.Close()
	for _, at := range []uint32{attachInet4Bind, attachInet6Bind} {
		attr := make([]byte, progLoadAttrSize)
		encbin.LittleEndian.PutUint32(attr[0:], progTypeSockAddr)
		encbin.LittleEndian.PutUint32(attr[4:], uint32(len(code)))
		encbin.LittleEndian.PutUint64(attr[insnOff:], uint64(uintptr(unsafe.Pointer(&text[0]))))
		encbin.LittleEndian.PutUint64(attr[licenseOff:], uint64(uintptr(unsafe.Pointer(&license[0]))))
		encbin.LittleEndian.PutUint32(attr[expectedAttachOff:], at)
		logBuf := make([]byte, 4096)
		encbin.LittleEndian.PutUint32(attr[24:], 1)
		encbin.LittleEndian.PutUint32(attr[28:], uint32(len(logBuf)))
		encbin.LittleEndian.PutUint64(attr[32:], uint64(uintptr(unsafe.Pointer(&logBuf[0]))))
		fd, _, e := unix.Syscall(unix.SYS_BPF, bpfProgLoad, uintptr(unsafe.Pointer(&attr[0])), progLoadAttrSize)
		runtime.KeepAlive(text)
		runtime.KeepAlive(license)
		runtime.KeepAlive(logBuf)
		if e != 0 {
			return fmt.Errorf("bpf(BPF_PROG_LOAD): %w: %s", e, strings.TrimRight(string(logBuf), "\x00"))
		}
		a := make([]byte, progAttachAttrSize)
		encbin.LittleEndian.PutUint32(a[0:], uint32(cg.Fd()))
		encbin.LittleEndian.PutUint32(a[4:], uint32(fd))
		encbin.LittleEndian.PutUint32(a[8:], at)
		_, _, e = unix.Syscall(unix.SYS_BPF, bpfProgAttach, uintptr(unsafe.Pointer(&a[0])), progAttachAttrSize)
		unix.Close(int(fd))
		if e != 0 {
			return fmt.Errorf("bpf(BPF_PROG_ATTACH) to %s: %w", dir, e)
		}
	}
	return nil
}
