package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os/exec"
	"strconv"

	"github.com/flota-dev/flota/unit"
)

// ExitTrailer carries the exit status of the command whose output the body
// streamed.
const ExitTrailer = "X-Flota-Exit"

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

// Server answers flotactl about the Units placed on this Machine.
type Server struct {
	placed func(unit string) bool
	run    Runner
	log    *slog.Logger
}

// NewServer returns a Server; placed says whether a Unit is placed on this
// Machine now.
func NewServer(placed func(unit string) bool, run Runner, log *slog.Logger) *Server {
	return &Server{placed: placed, run: run, log: log}
}

// Handler routes the API.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/units/{unit}/status", s.status)
	mux.HandleFunc("GET /v1/units/{unit}/journal", s.journal)
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
	if follow, _ := strconv.ParseBool(q.Get("follow")); follow {
		args = append(args, "--follow")
	}
	s.stream(w, r, "journalctl", args...)
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

// stream runs the command, flushing its output as it comes (journal
// --follow runs until the client goes), and sends its exit status last.
func (s *Server) stream(w http.ResponseWriter, r *http.Request, name string, args ...string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Trailer", ExitTrailer)
	fw := &flushWriter{w: w, rc: http.NewResponseController(w)}
	status, err := s.run.Run(r.Context(), fw, name, args...)
	if err != nil {
		s.log.Warn("agent api command failed", "command", name, "err", err)
		fmt.Fprintf(fw, "flotad: %v\n", err)
		status = 127
	}
	w.Header().Set(ExitTrailer, strconv.Itoa(status))
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
