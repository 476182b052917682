package host

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// findOwners sets PID and Command of the sockets whose inode some process
// under proc holds open, by reading the /proc/PID/fd links
// ("socket:[INODE]"). Processes are visited by ascending PID and their
// descriptors by ascending number, so of several holders (an nginx master
// and its workers) the oldest one is named, and the scan stops as soon as
// every socket has its owner. What /proc does not let us read (other
// users' processes when not root, processes that exit meanwhile) is
// skipped: owners are a courtesy, never a reason to fail. It returns how
// many sockets kept no owner.
func findOwners(proc string, socks []Socket) int {
	want := make(map[uint64][]int)
	for i, s := range socks {
		if s.Inode != 0 {
			want[s.Inode] = append(want[s.Inode], i)
		}
	}
	if len(want) == 0 {
		return 0
	}
	pids := listPIDs(proc)
	// Reading every descriptor link of every process is most of Gather's
	// time on a busy host (70,000 connections: 140,000 readlinks), and
	// each process can be read on its own: scan batches of processes side
	// by side, then take their answers in PID order, as one scan would.
	// want is only read while a batch runs.
	workers := runtime.GOMAXPROCS(0)
	batch := 4 * workers
	for start := 0; start < len(pids); start += batch {
		chunk := pids[start:min(start+batch, len(pids))]
		results := make([]map[uint64]int, len(chunk))
		next := make(chan int)
		var wg sync.WaitGroup
		for range min(workers, len(chunk)) {
			wg.Add(1)
			go func() {
				defer wg.Done()
				link := make([]byte, 64)
				for i := range next {
					results[i] = scanFDs(filepath.Join(proc, strconv.Itoa(chunk[i]), "fd"), want, link)
				}
			}()
		}
		for i := range chunk {
			next <- i
		}
		close(next)
		wg.Wait()
		for i, pid := range chunk {
			if takeOwners(proc, pid, results[i], want, socks) {
				return 0
			}
		}
	}
	n := 0
	for _, idx := range want {
		n += len(idx)
	}
	return n
}

// takeOwners names pid as the owner of the sockets it holds that have
// none yet, and reports whether every socket now has one.
func takeOwners(proc string, pid int, found map[uint64]int, want map[uint64][]int, socks []Socket) bool {
	for ino := range found {
		if _, ok := want[ino]; !ok {
			delete(found, ino) // a process of lower PID in the batch holds it too
		}
	}
	if len(found) == 0 {
		return false
	}
	comm, _ := os.ReadFile(filepath.Join(proc, strconv.Itoa(pid), "comm"))
	command := strings.TrimRight(string(comm), "\n")
	for ino, fd := range found {
		addr, port := sockOpts(pid, fd)
		for _, i := range want[ino] {
			socks[i].PID, socks[i].Command = pid, command
			socks[i].ReuseAddr, socks[i].ReusePort = addr, port
		}
		delete(want, ino)
	}
	return len(want) == 0
}

// listPIDs returns the process IDs under proc in ascending order.
func listPIDs(proc string) []int {
	d, err := os.Open(proc)
	if err != nil {
		return nil
	}
	defer d.Close()
	names, _ := d.Readdirnames(-1)
	pids := make([]int, 0, len(names))
	for _, n := range names {
		if pid, err := strconv.Atoi(n); err == nil && pid > 0 {
			pids = append(pids, pid)
		}
	}
	slices.Sort(pids)
	return pids
}

// scanFDs returns the inodes of want that the descriptors in fdDir point
// to, each with the first descriptor found for it. link is scratch space
// for readlinkat.
func scanFDs(fdDir string, want map[uint64][]int, link []byte) map[uint64]int {
	d, err := os.Open(fdDir)
	if err != nil {
		return nil
	}
	defer d.Close()
	names, _ := d.Readdirnames(-1)
	fds := make([]int, 0, len(names))
	for _, n := range names {
		if fd, err := strconv.Atoi(n); err == nil {
			fds = append(fds, fd)
		}
	}
	slices.Sort(fds)
	dirfd := int(d.Fd())
	found := map[uint64]int{}
	for _, fd := range fds {
		n, err := unix.Readlinkat(dirfd, strconv.Itoa(fd), link)
		if err != nil {
			continue
		}
		ino, ok := socketInode(link[:n])
		if !ok {
			continue
		}
		if _, ok := want[ino]; ok {
			if _, dup := found[ino]; !dup {
				found[ino] = fd
			}
			if len(found) == len(want) {
				break
			}
		}
	}
	return found
}

// socketInode parses "socket:[12345]".
func socketInode(l []byte) (uint64, bool) {
	rest, ok := bytes.CutPrefix(l, []byte("socket:["))
	if !ok || len(rest) < 2 || rest[len(rest)-1] != ']' {
		return 0, false
	}
	ino, err := strconv.ParseUint(string(rest[:len(rest)-1]), 10, 64)
	return ino, err == nil
}

// sockOpts reads SO_REUSEADDR and SO_REUSEPORT of descriptor fd of process
// pid, which decide whether a daemon may share the port with it: sock_diag
// does not report them. pidfd_getfd(2) lends us a copy of the descriptor
// (it needs the same rights as ptrace, so root), which only getsockopt(2)
// reads before it is closed. nil means unknown.
func sockOpts(pid, fd int) (reuseAddr, reusePort *bool) {
	pidfd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return nil, nil
	}
	defer unix.Close(pidfd)
	dup, err := unix.PidfdGetfd(pidfd, fd, 0)
	if err != nil {
		return nil, nil
	}
	defer unix.Close(dup)
	get := func(opt int) *bool {
		v, err := unix.GetsockoptInt(dup, unix.SOL_SOCKET, opt)
		if err != nil {
			return nil
		}
		b := v != 0
		return &b
	}
	return get(unix.SO_REUSEADDR), get(unix.SO_REUSEPORT)
}
