package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os/exec"
	"strconv"
	"sync"
	"time"

	"github.com/flota-dev/flota/machineapi"
	"github.com/flota-dev/flota/unit"
)

// Runner runs a command on this Machine, writing its output to w, and
// returns its exit status (non-zero statuses are not errors: systemctl
// status says 3 for a stopped unit). err is for a command that could not
// run at all.
type Runner interface {
	Run(ctx context.Context, w io.Writer, name string, args ...string) (status int, err error)
}

// ExecRunner runs commands with os/exec.
type ExecRunner struct{}

var _ Runner = ExecRunner{}

// Run runs name with args, stdout and stderr both to w.
func (ExecRunner) Run(ctx context.Context, w io.Writer, name string, args ...string) (int, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdout, cmd.Stderr = w, w
	err := cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return exit.ExitCode(), nil
	}
	if err != nil {
		return 0, fmt.Errorf("run %s: %w", name, err)
	}
	return 0, nil
}

// Limits bound what callers can make a Machine run for them. Each
// `journal -f` is a journalctl process (7–8 MiB, and an inotify instance
// of the host's shared per-user limit: 200 of them started 110 processes,
// 820 MiB, before the rest failed on that limit), held for as long as the
// caller keeps reading, or not.
type Limits struct {
	// Follows is how many `journal -f` streams may run at once on the
	// Machine; PerCaller, how many of them for one caller (its address).
	Follows, PerCaller int
	// Timeout bounds every other request: status, and journal without
	// follow.
	Timeout time.Duration
}

// DefaultLimits are flotad's defaults (--api-max-follows,
// --api-max-follows-per-caller, --api-timeout): 32 streams stay well
// under the kernel's default of 128 inotify instances per user, which
// every container of a host shares.
func DefaultLimits() Limits { return Limits{Follows: 32, PerCaller: 8, Timeout: 30 * time.Second} }

// Server answers flotactl about the Units placed on this Machine.
type Server struct {
	placed func(unit string) bool
	run    Runner
	limits Limits
	log    *slog.Logger

	exec ExecConfig

	mu      sync.Mutex
	follows map[string]int // streams under way, by caller
	total   int
	execs   int // exec sessions under way
}

// NewServer returns a Server; placed says whether a Unit is placed on this
// Machine now.
func NewServer(placed func(unit string) bool, run Runner, limits Limits, log *slog.Logger) *Server {
	return &Server{placed: placed, run: run, limits: limits, log: log, follows: map[string]int{}}
}

// Handler routes the API.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/units/{unit}/status", s.status)
	mux.HandleFunc("GET /v1/units/{unit}/journal", s.journal)
	mux.HandleFunc("GET /v1/units/{unit}/exec", s.execUnit)
	return mux
}

// journalOutputs are journalctl's --output modes.
var journalOutputs = map[string]bool{
	"short": true, "short-full": true, "short-iso": true, "short-iso-precise": true, "short-precise": true,
	"short-monotonic": true, "short-delta": true, "short-unix": true, "verbose": true, "export": true,
	"json": true, "json-pretty": true, "json-sse": true, "json-seq": true, "cat": true, "with-unit": true,
}

func (s *Server) status(w http.ResponseWriter, r *http.Request) {
	name, ok := s.unit(w, r)
	if !ok {
		return
	}
	s.stream(w, r, "systemctl", "status", "-l", "--no-pager", "--", name)
}

func (s *Server) journal(w http.ResponseWriter, r *http.Request) {
	name, ok := s.unit(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	lines := q.Get("lines")
	if lines == "" {
		lines = "10"
	}
	if n, err := strconv.Atoi(lines); err != nil || n < 0 {
		http.Error(w, fmt.Sprintf("lines %q: want a number, 0 or more", lines), http.StatusBadRequest)
		return
	}
	output := q.Get("output")
	if output == "" {
		output = "short"
	}
	if !journalOutputs[output] {
		http.Error(w, fmt.Sprintf("output %q: not a journalctl output mode", output), http.StatusBadRequest)
		return
	}
	args := []string{"--unit", name, "--no-pager", "-n", lines, "--output", output}
	follow, _ := strconv.ParseBool(q.Get("follow"))
	if !follow {
		s.stream(w, r, "journalctl", args...)
		return
	}
	caller := callerOf(r)
	if why := s.admit(caller); why != "" {
		http.Error(w, why, http.StatusTooManyRequests)
		return
	}
	defer s.release(caller)
	s.follow(w, r, "journalctl", append(args, "--follow")...)
}

// admit takes a follow slot for caller, or says why there is none.
func (s *Server) admit(caller string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.limits.Follows > 0 && s.total >= s.limits.Follows:
		return fmt.Sprintf("too many journal -f streams on this machine: %d at once (flotad --api-max-follows)", s.limits.Follows)
	case s.limits.PerCaller > 0 && s.follows[caller] >= s.limits.PerCaller:
		return fmt.Sprintf("too many journal -f streams from %s: %d at once (flotad --api-max-follows-per-caller)", caller, s.limits.PerCaller)
	}
	s.total++
	s.follows[caller]++
	return ""
}

func (s *Server) release(caller string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.total--
	if s.follows[caller]--; s.follows[caller] <= 0 {
		delete(s.follows, caller)
	}
}

// Follows is how many journal -f streams run now.
func (s *Server) Follows() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.total
}

// callerOf is who asks: the address the request came from, without its
// port (one caller opens many connections).
func callerOf(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// unit reads and checks the unit named in the path.
func (s *Server) unit(w http.ResponseWriter, r *http.Request) (string, bool) {
	name := r.PathValue("unit")
	if err := unit.ValidateName(name); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return "", false
	}
	if !s.placed(name) {
		http.Error(w, fmt.Sprintf("unit %s is not placed on this machine", name), http.StatusNotFound)
		return "", false
	}
	return name, true
}

// stream runs a command that ends by itself, within the Timeout.
func (s *Server) stream(w http.ResponseWriter, r *http.Request, name string, args ...string) {
	ctx := r.Context()
	if s.limits.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.limits.Timeout)
		defer cancel()
	}
	s.run1(ctx, w, false, name, args...)
}

// follow runs a command that runs until the caller goes (journal
// --follow). The answer's header goes at once: the stream is admitted and
// under way, even before its first line.
func (s *Server) follow(w http.ResponseWriter, r *http.Request, name string, args ...string) {
	s.run1(r.Context(), w, true, name, args...)
}

// run1 runs the command, flushing its output as it comes, and sends its
// exit status last.
func (s *Server) run1(ctx context.Context, w http.ResponseWriter, early bool, name string, args ...string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Trailer", machineapi.ExitTrailer)
	fw := &flushWriter{w: w, rc: http.NewResponseController(w)}
	if early {
		w.WriteHeader(http.StatusOK)
		_ = fw.rc.Flush()
	}
	status, err := s.run.Run(ctx, fw, name, args...)
	if err != nil {
		s.log.Warn("agent api command failed", "command", name, "err", err)
		fmt.Fprintf(fw, "flotad: %v\n", err)
		status = 127
	}
	w.Header().Set(machineapi.ExitTrailer, strconv.Itoa(status))
}

type flushWriter struct {
	w  io.Writer
	rc *http.ResponseController
}

func (f *flushWriter) Write(p []byte) (int, error) {
	n, err := f.w.Write(p)
	if err == nil {
		_ = f.rc.Flush() // a client gone is noticed by the command's context
	}
	return n, err
}
