// caps-exec: the last step of a container process's launch in the guest, when its capabilities are to be
// narrowed (OCI process.capabilities). Run as root inside the container's root, it narrows the bounding
// set (which needs root's CAP_SETPCAP, so before the user changes), takes the process's groups, gid and uid,
// sets its capabilities and execs the program, as runc does before its own exec. Node cannot make these
// calls (prctl, capset), busybox's setpriv cannot change the bounding set, and nothing of this binary needs
// to be in the container's image: the agent passes it as a descriptor, run as /proc/self/fd/N.
//
//	caps-exec SELF_FD UID GID GROUPS BOUNDING EFFECTIVE PERMITTED INHERITABLE AMBIENT -- PROG ARGS...
//
// GROUPS is a comma-separated list of supplementary gids ("-" for none). The five sets are hexadecimal bit
// masks (bit n is capability n); capabilities the kernel does not know (above cap_last_cap) are left alone.
// A process of another user than root keeps, after its exec, only the ambient set, as under runc. PROG is
// looked up in the environment's PATH.
package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"unsafe"
)

const (
	prSetKeepcaps           = 8
	prCapbsetDrop           = 24
	prCapAmbient            = 47
	prCapAmbientRaise       = 2
	prCapAmbientClearAll    = 4
	linuxCapabilityVersion3 = 0x20080522
)

type capHeader struct {
	version uint32
	pid     int32
}

type capData struct {
	effective   uint32
	permitted   uint32
	inheritable uint32
}

// fail ends a launch that could not be set up: 125, as the launcher's own failures; 127 and 126 are kept for a
// program that is not there or cannot run, as a shell reports them.
func fail(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "caps-exec: "+format+"\n", a...)
	os.Exit(125)
}

func prctl(option, arg2, arg3 uintptr) error {
	if _, _, e := syscall.RawSyscall6(syscall.SYS_PRCTL, option, arg2, arg3, 0, 0, 0); e != 0 {
		return e
	}
	return nil
}

func main() {
	// Capabilities are per thread, and execve keeps only the calling thread's: all of it happens on one.
	runtime.LockOSThread()
	args := os.Args[1:]
	if len(args) < 11 || args[9] != "--" {
		fail("usage: caps-exec SELF_FD UID GID GROUPS BOUNDING EFFECTIVE PERMITTED INHERITABLE AMBIENT -- PROG ARGS...")
	}
	selfFd, err := strconv.Atoi(args[0])
	if err != nil {
		fail("bad descriptor %q", args[0])
	}
	uid, errU := strconv.ParseUint(args[1], 10, 32)
	gid, errG := strconv.ParseUint(args[2], 10, 32)
	if errU != nil || errG != nil {
		fail("bad uid or gid %q %q", args[1], args[2])
	}
	var groups []uint32
	if args[3] != "-" {
		for _, g := range strings.Split(args[3], ",") {
			n, err := strconv.ParseUint(g, 10, 32)
			if err != nil {
				fail("bad group %q", g)
			}
			groups = append(groups, uint32(n))
		}
	}
	var sets [5]uint64
	for i := range sets {
		if sets[i], err = strconv.ParseUint(args[4+i], 16, 64); err != nil {
			fail("bad capability mask %q", args[4+i])
		}
	}
	bounding, effective, permitted, inheritable, ambient := sets[0], sets[1], sets[2], sets[3], sets[4]
	raw, err := os.ReadFile("/proc/sys/kernel/cap_last_cap")
	if err != nil {
		fail("cannot read the kernel's last capability: %v", err)
	}
	last, err := strconv.Atoi(strings.TrimSpace(string(raw)))
	if err != nil || last < 0 || last > 63 {
		fail("bad cap_last_cap %q", raw)
	}
	for c := 0; c <= last; c++ {
		if bounding&(1<<c) == 0 {
			if err := prctl(prCapbsetDrop, uintptr(c), 0); err != nil {
				fail("cannot drop capability %d from the bounding set: %v", c, err)
			}
		}
	}
	// The user last: groups and gid while root may still set them; the permitted set kept across setuid.
	var groupsPtr uintptr
	if len(groups) > 0 {
		groupsPtr = uintptr(unsafe.Pointer(&groups[0]))
	}
	if _, _, e := syscall.RawSyscall(syscall.SYS_SETGROUPS, uintptr(len(groups)), groupsPtr, 0); e != 0 {
		fail("setgroups: %v", e)
	}
	if _, _, e := syscall.RawSyscall(syscall.SYS_SETRESGID, uintptr(gid), uintptr(gid), uintptr(gid)); e != 0 {
		fail("setresgid %d: %v", gid, e)
	}
	if err := prctl(prSetKeepcaps, 1, 0); err != nil {
		fail("cannot keep capabilities across setuid: %v", err)
	}
	if _, _, e := syscall.RawSyscall(syscall.SYS_SETRESUID, uintptr(uid), uintptr(uid), uintptr(uid)); e != 0 {
		fail("setresuid %d: %v", uid, e)
	}
	hdr := capHeader{version: linuxCapabilityVersion3}
	data := [2]capData{
		{effective: uint32(effective), permitted: uint32(permitted), inheritable: uint32(inheritable)},
		{effective: uint32(effective >> 32), permitted: uint32(permitted >> 32), inheritable: uint32(inheritable >> 32)},
	}
	if _, _, e := syscall.RawSyscall(syscall.SYS_CAPSET, uintptr(unsafe.Pointer(&hdr)), uintptr(unsafe.Pointer(&data[0])), 0); e != 0 {
		fail("capset: %v", e)
	}
	if err := prctl(prCapAmbient, prCapAmbientClearAll, 0); err != nil && err != syscall.EINVAL {
		fail("cannot clear the ambient set: %v", err)
	}
	// An ambient capability needs to be permitted and inheritable: one that is not is said and left out, as runc does.
	for c := 0; c <= last; c++ {
		if ambient&(1<<c) != 0 {
			if err := prctl(prCapAmbient, prCapAmbientRaise, uintptr(c)); err != nil {
				fmt.Fprintf(os.Stderr, "caps-exec: ambient capability %d left out: %v\n", c, err)
			}
		}
	}
	// No descriptor of the launch (this binary's, an exec's working directory) follows into the program.
	_ = selfFd
	if entries, err := os.ReadDir("/proc/self/fd"); err == nil {
		for _, e := range entries {
			if fd, err := strconv.Atoi(e.Name()); err == nil && fd > 2 {
				syscall.CloseOnExec(fd)
			}
		}
	} else {
		fail("cannot list its descriptors: %v", err)
	}
	prog := args[10]
	if os.Getenv("PATH") == "" && !strings.Contains(prog, "/") {
		// As execvp does without a PATH.
		os.Setenv("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
	}
	path, err := exec.LookPath(prog)
	if errors.Is(err, exec.ErrDot) {
		err = nil
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "caps-exec: %s: %v\n", prog, err)
		os.Exit(127)
	}
	err = syscall.Exec(path, args[10:], os.Environ())
	fmt.Fprintf(os.Stderr, "caps-exec: cannot run %s: %v\n", path, err)
	if errors.Is(err, syscall.ENOENT) {
		os.Exit(127)
	}
	os.Exit(126)
}
