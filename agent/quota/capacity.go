package quota

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
)

// Capacity is what a machine offers its tasks, published with its
// presence.
type Capacity struct {
	CPUs          int    // CPUs this process may run on (runtime.NumCPU)
	MemoryBytes   uint64 // MemTotal of /proc/meminfo
	DiskBytes     uint64 // size of the filesystem the Agent keeps its data on
	DiskFreeBytes uint64 // of which free for an unprivileged writer
}

// ReadCapacity reads the machine's capacity; path is a directory on the
// filesystem tasks and volumes are on. (A function named Capacity would
// clash with the type.)
func ReadCapacity(ctx context.Context, path string) (Capacity, error) {
	if err := ctx.Err(); err != nil {
		return Capacity{}, err
	}
	meminfo, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return Capacity{}, err
	}
	mem, err := ParseMemTotal(meminfo)
	if err != nil {
		return Capacity{}, err
	}
	var st syscall.Statfs_t
	if err := syscall.Statfs(path, &st); err != nil {
		return Capacity{}, &os.PathError{Op: "statfs", Path: path, Err: err}
	}
	total, free := diskFromStatfs(st)
	return Capacity{CPUs: runtime.NumCPU(), MemoryBytes: mem, DiskBytes: total, DiskFreeBytes: free}, nil
}

// ParseMemTotal returns MemTotal, in bytes, from the text of /proc/meminfo
// ("MemTotal:       16318412 kB"; the unit is always kB, which the kernel
// means as KiB).
func ParseMemTotal(meminfo []byte) (uint64, error) {
	sc := bufio.NewScanner(bytes.NewReader(meminfo))
	for sc.Scan() {
		key, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok || key != "MemTotal" {
			continue
		}
		f := strings.Fields(rest)
		if len(f) == 0 || len(f) > 2 {
			return 0, fmt.Errorf("meminfo: bad MemTotal line %q", sc.Text())
		}
		n, err := strconv.ParseUint(f[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("meminfo: bad MemTotal line %q: %v", sc.Text(), err)
		}
		mult := uint64(1)
		if len(f) == 2 {
			if f[1] != "kB" {
				return 0, fmt.Errorf("meminfo: MemTotal in unknown unit %q", f[1])
			}
			mult = 1024
		}
		if n > ^uint64(0)/mult {
			return 0, fmt.Errorf("meminfo: MemTotal %d %s overflows", n, f[1])
		}
		return n * mult, nil
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("meminfo: no MemTotal")
}

// diskFromStatfs returns a filesystem's size and free bytes as df(1) does:
// blocks of f_frsize (f_bsize if the kernel left that 0), free counted as
// f_bavail (what is left to unprivileged writers). On BTRFS both are
// estimates the kernel makes from the allocation profile.
func diskFromStatfs(st syscall.Statfs_t) (total, free uint64) {
	bs := uint64(st.Frsize)
	if bs == 0 {
		bs = uint64(st.Bsize)
	}
	return st.Blocks * bs, st.Bavail * bs
}
