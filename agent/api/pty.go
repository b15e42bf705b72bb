package api

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// openTerminal opens a new pseudo-terminal from the multiplexer ptmx:
// /dev/ptmx for this machine, or a container's own (its /dev/pts/ptmx,
// reached through its leader's root), so that the terminal is one of the
// container's devpts and its name (/dev/pts/N) resolves inside it, as
// ttyname(3), sudo and ssh-agent want. The other end is opened from the
// multiplexer itself (TIOCGPTPEER), never by a path, which in the host's
// view would be another devpts' device.
func openTerminal(ptmx string, rows, cols uint16) (master, term *os.File, err error) {
	fd, err := unix.Open(ptmx, unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("open %s: %w", ptmx, err)
	}
	master = os.NewFile(uintptr(fd), ptmx)
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		master.Close()
		return nil, nil, fmt.Errorf("unlock the terminal of %s: %w", ptmx, err)
	}
	peer, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.TIOCGPTPEER, uintptr(unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC))
	if errno != 0 {
		master.Close()
		return nil, nil, fmt.Errorf("open the terminal of %s: %w", ptmx, errno)
	}
	term = os.NewFile(peer, "terminal")
	if err := resize(master, rows, cols); err != nil {
		master.Close()
		term.Close()
		return nil, nil, err
	}
	return master, term, nil
}

// resize sets the terminal's size, which its programs get SIGWINCH for.
func resize(master *os.File, rows, cols uint16) error {
	if err := unix.IoctlSetWinsize(int(master.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: rows, Col: cols}); err != nil {
		return fmt.Errorf("resize the terminal: %w", err)
	}
	return nil
}
