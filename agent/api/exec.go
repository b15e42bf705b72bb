package api

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"

	"github.com/flota-dev/flota/machineapi"
)

// Where says where a command exec'ed "in" a unit runs: in its container
// (Container, its systemd-machined name) or, for a plain unit, on the
// machine itself.
type Where struct {
	Container string
}

// ExecConfig turns exec on: Where says where a command for a unit placed
// here runs (placed false: it is not placed here), and Max bounds the
// sessions at once (0: no bound).
type ExecConfig struct {
	Where func(ctx context.Context, unit string) (w Where, placed bool, err error)
	Max   int
}

// DefaultMaxExecs is flotad's bound on exec sessions at once.
const DefaultMaxExecs = 16

// execEnv is a command's environment: none of flotad's own.
var execEnv = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root"}

// EnableExec serves GET /v1/units/{unit}/exec on s (flotactl exec and
// shell): a command run in a unit's container, or on this machine for a
// plain unit, with a terminal when asked. It returns s.
func (s *Server) EnableExec(c ExecConfig) *Server {
	s.exec = c
	return s
}

func (s *Server) execUnit(w http.ResponseWriter, r *http.Request) {
	if s.exec.Where == nil {
		http.Error(w, "exec is off on this machine (flotad --exec)", http.StatusForbidden)
		return
	}
	name, ok := s.unit(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	argv := q["cmd"]
	if len(argv) == 0 || argv[0] == "" {
		http.Error(w, "exec: want a command (cmd=...)", http.StatusBadRequest)
		return
	}
	tty := q.Get("tty") == "1"
	var size Size
	if tty {
		rows, err1 := strconv.ParseUint(q.Get("rows"), 10, 16)
		cols, err2 := strconv.ParseUint(q.Get("cols"), 10, 16)
		if err1 != nil || err2 != nil {
			http.Error(w, fmt.Sprintf("exec: a terminal wants rows and cols, not %q and %q", q.Get("rows"), q.Get("cols")), http.StatusBadRequest)
			return
		}
		size = Size{Rows: uint16(rows), Cols: uint16(cols)}
	}
	if !strings.EqualFold(r.Header.Get("Upgrade"), machineapi.ExecProtocol) {
		http.Error(w, "exec: want Connection: Upgrade and Upgrade: "+machineapi.ExecProtocol, http.StatusUpgradeRequired)
		return
	}
	where, ok, err := s.exec.Where(r.Context(), name)
	switch {
	case err != nil:
		http.Error(w, fmt.Sprintf("exec in %s: %v", name, err), http.StatusServiceUnavailable)
		return
	case !ok:
		http.Error(w, fmt.Sprintf("unit %s is not placed on this machine", name), http.StatusNotFound)
		return
	}
	cmdline, ptmx, err := s.execLine(r.Context(), where, argv)
	if err != nil {
		http.Error(w, fmt.Sprintf("exec in %s: %v", name, err), http.StatusConflict)
		return
	}
	if !s.admitExec() {
		http.Error(w, fmt.Sprintf("too many exec sessions on this machine: %d at once", s.exec.Max), http.StatusTooManyRequests)
		return
	}
	defer s.releaseExec()
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		http.Error(w, "exec: this connection cannot be taken over: "+err.Error(), http.StatusInternalServerError)
		return
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: "+machineapi.ExecProtocol+"\r\n\r\n"); err != nil {
		return
	}
	s.log.Info("exec", "unit", name, "container", where.Container, "command", strings.Join(argv, " "), "tty", tty, "caller", callerOf(r))
	// The session ends with the connection: a client gone kills the command.
	ctx, cancel := context.WithCancel(context.WithoutCancel(r.Context()))
	defer cancel()
	if !tty {
		ptmx = ""
	}
	Session(ctx, brw.Reader, conn, cmdline, ptmx, size)
}

// Size is a terminal's size.
type Size struct{ Rows, Cols uint16 }

// execLine is the command line that runs argv where w says: on this
// machine, or through nsenter into every namespace, the root and the
// working directory of the container's leader (its PID 1), which
// systemd-machined names; and the terminal multiplexer of that place.
func (s *Server) execLine(ctx context.Context, w Where, argv []string) (cmdline []string, ptmx string, err error) {
	if w.Container == "" {
		return argv, "/dev/ptmx", nil
	}
	var out bytes.Buffer
	status, err := s.run.Run(ctx, &out, "machinectl", "show", "--property=Leader", "--value", w.Container)
	leader := strings.TrimSpace(out.String())
	if err != nil || status != 0 || leader == "" || leader == "0" {
		return nil, "", fmt.Errorf("its container %s is not running (machinectl show: %s)", w.Container, strings.TrimSpace(out.String()))
	}
	if _, err := strconv.Atoi(leader); err != nil {
		return nil, "", fmt.Errorf("container %s: leader %q is not a PID", w.Container, leader)
	}
	return append([]string{"nsenter", "--target=" + leader, "--all", "--root", "--wd", "--"}, argv...), "/proc/" + leader + "/root/dev/pts/ptmx", nil
}

func (s *Server) admitExec() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.exec.Max > 0 && s.execs >= s.exec.Max {
		return false
	}
	s.execs++
	return true
}

func (s *Server) releaseExec() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.execs--
}

// Session runs cmdline for one exec stream: frames from in feed its stdin
// (or terminal) and resize it; its output goes to out as frames, then its
// exit status, or why it could not run. With ptmx, the command runs on a
// new terminal of that multiplexer, of size, as its session's controlling
// terminal. It returns when the command ended and its output was sent, or
// when in breaks (the client went), after killing the command.
func Session(ctx context.Context, in *bufio.Reader, out io.Writer, cmdline []string, ptmx string, size Size) {
	fw := machineapi.NewFrameWriter(out)
	cmd := exec.CommandContext(ctx, cmdline[0], cmdline[1:]...)
	cmd.Env = execEnv
	tty := ptmx != ""
	if tty {
		cmd.Env = append(cmd.Env, "TERM=xterm-256color")
	}
	var stdin io.WriteCloser
	var term *os.File
	var err error
	if tty {
		var peer *os.File
		if term, peer, err = openTerminal(ptmx, size.Rows, size.Cols); err == nil {
			cmd.Stdin, cmd.Stdout, cmd.Stderr = peer, peer, peer
			cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
			err = cmd.Start()
			peer.Close() // the command holds it now: the end of its output is the end of theirs
			stdin = term
		}
	} else {
		cmd.Stdout = fw.Stream(machineapi.FrameStdout)
		cmd.Stderr = fw.Stream(machineapi.FrameStderr)
		if stdin, err = cmd.StdinPipe(); err == nil {
			err = cmd.Start()
		}
	}
	if err != nil {
		if term != nil {
			term.Close()
		}
		_ = fw.Write(machineapi.FrameError, []byte(err.Error()))
		return
	}
	// The client's frames, until it goes: then the command is killed.
	go func() {
		defer func() {
			if ctx.Err() == nil {
				_ = cmd.Process.Kill()
			}
		}()
		for {
			f, err := machineapi.ReadFrame(in)
			if err != nil {
				return
			}
			switch f.Type {
			case machineapi.FrameStdin:
				if _, err := stdin.Write(f.Payload); err != nil && !tty {
					stdin.Close()
				}
			case machineapi.FrameCloseStdin:
				if tty {
					_, _ = term.Write([]byte{4}) // ^D: the terminal's end of input
				} else {
					stdin.Close()
				}
			case machineapi.FrameResize:
				if rows, cols, err := machineapi.ParseSize(f.Payload); err == nil && tty {
					_ = resize(term, rows, cols)
				}
			}
		}
	}()
	if tty {
		// The terminal's output until the command and every process that
		// holds the terminal end (EIO on Linux).
		_, _ = io.Copy(fw.Stream(machineapi.FrameStdout), term)
	}
	err = cmd.Wait()
	if term != nil {
		term.Close()
	}
	status := 0
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		status = exit.ExitCode()
		if ws, ok := exit.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			status = 128 + int(ws.Signal()) // as a shell says it
		}
	case err != nil:
		_ = fw.Write(machineapi.FrameError, []byte(err.Error()))
		return
	}
	_ = fw.Write(machineapi.FrameExit, machineapi.Exit(status))
}
