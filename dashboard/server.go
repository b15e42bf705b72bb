package dashboard

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/flota-dev/flota/clock"
	"github.com/flota-dev/flota/registry"
)

// Store is what the dashboard reads of the cluster.
type Store interface {
	ReadStatus(ctx context.Context) (*registry.Status, error)
	WatchStatus(ctx context.Context, after int64) <-chan registry.StatusChange
	LoadCluster(ctx context.Context, log *slog.Logger) (*registry.Cluster, error)
}

var _ Store = (*registry.Registry)(nil)

//go:embed assets
var assets embed.FS

var pages = template.Must(template.New("").Funcs(template.FuncMap{}).ParseFS(assets, "assets/page.html"))

// Defaults of Config.
const (
	DefaultMinGap       = 250 * time.Millisecond
	DefaultMaxFollowers = 64
	keepAlive           = 25 * time.Second // a comment on an idle stream, so that proxies keep it
)

// Config tunes a Server; zero values take the defaults.
type Config struct {
	Clock        clock.Clock
	MinGap       time.Duration // between two frames of the live view
	MaxFollowers int           // browsers following at once
}

// Server serves the dashboard over a Store.
type Server struct {
	store Store
	clock clock.Clock
	feed  *Feed
	log   *slog.Logger
}

// NewServer returns a Server over store. Its Run must run for the live
// view to follow the cluster.
func NewServer(store Store, c Config, log *slog.Logger) *Server {
	if c.Clock == nil {
		c.Clock = clock.System{}
	}
	if c.MinGap <= 0 {
		c.MinGap = DefaultMinGap
	}
	if c.MaxFollowers <= 0 {
		c.MaxFollowers = DefaultMaxFollowers
	}
	s := &Server{store: store, clock: c.Clock, log: log}
	s.feed = &Feed{
		read: s.frame,
		watch: func(ctx context.Context, after int64) <-chan int64 {
			out := make(chan int64)
			go func() {
				defer close(out)
				for ch := range store.WatchStatus(ctx, after) {
					if ch.Err != nil {
						return
					}
					select {
					case out <- ch.Revision:
					case <-ctx.Done():
						return
					}
				}
			}()
			return out
		},
		clock: c.Clock, minGap: c.MinGap, max: c.MaxFollowers,
		followers: map[chan frame]struct{}{}, wake: make(chan struct{}, 1),
	}
	return s
}

// Run follows the cluster for the live view's browsers until ctx ends.
func (s *Server) Run(ctx context.Context) error { return s.feed.Run(ctx) }

// Handler routes the dashboard under prefix ("/ui/").
func (s *Server) Handler(prefix string) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+prefix+"{$}", s.page)
	mux.HandleFunc("GET "+prefix+"events", s.events)
	mux.HandleFunc("GET "+prefix+"plan", s.plan)
	sub, _ := fs.Sub(assets, "assets")
	files := http.StripPrefix(prefix+"assets/", http.FileServerFS(sub))
	mux.Handle("GET "+prefix+"assets/", files)
	return secured(mux)
}

// secured sets the headers every dashboard answer carries: the page runs
// its own script and style only, and is not framed by another site.
func secured(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		h.ServeHTTP(w, r)
	})
}

func (s *Server) page(w http.ResponseWriter, r *http.Request) {
	st, err := s.store.ReadStatus(r.Context())
	if err != nil {
		s.fail(w, err)
		return
	}
	s.render(w, "page", Build(st))
}

// frame reads the cluster and renders its part of the page.
func (s *Server) frame(ctx context.Context) (frame, error) {
	st, err := s.store.ReadStatus(ctx)
	if err != nil {
		return frame{}, err
	}
	var b bytes.Buffer
	if err := pages.ExecuteTemplate(&b, "cluster", Build(st)); err != nil {
		return frame{}, err
	}
	return frame{revision: st.Revision, html: b.Bytes()}, nil
}

func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	flush := http.NewResponseController(w)
	frames, stop, err := s.feed.Follow()
	if errors.Is(err, ErrTooMany) {
		http.Error(w, fmt.Sprintf("%v (%d): close one and reload", err, s.feed.max), http.StatusTooManyRequests)
		return
	}
	defer stop()
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, "retry: 2000\n\n") // a browser that lost the stream asks again after 2 s
	if flush.Flush() != nil {
		return
	}
	for {
		select {
		case <-r.Context().Done():
			return
		case fr := <-frames:
			if writeEvent(w, fr) != nil || flush.Flush() != nil {
				return
			}
		case <-s.clock.After(keepAlive):
			if _, err := fmt.Fprint(w, ": idle\n\n"); err != nil || flush.Flush() != nil {
				return
			}
		}
	}
}

// writeEvent writes fr as one server-sent "cluster" event: its lines each
// a data line, its revision the id.
func writeEvent(w http.ResponseWriter, fr frame) error {
	var b strings.Builder
	b.WriteString("id: " + strconv.FormatInt(fr.revision, 10) + "\nevent: cluster\n")
	for line := range strings.Lines(string(fr.html)) {
		b.WriteString("data: " + strings.TrimRight(line, "\r\n") + "\n")
	}
	b.WriteString("\n")
	_, err := w.Write([]byte(b.String()))
	return err
}

func (s *Server) render(w http.ResponseWriter, name string, data any) {
	var b bytes.Buffer
	if err := pages.ExecuteTemplate(&b, name, data); err != nil {
		s.fail(w, err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Write(b.Bytes())
}

// fail answers 503 when etcd is unavailable, 500 otherwise; either way
// the cause is named.
func (s *Server) fail(w http.ResponseWriter, err error) {
	code := http.StatusInternalServerError
	if errors.Is(err, registry.ErrUnavailable) {
		code = http.StatusServiceUnavailable
	}
	http.Error(w, "flota dashboard: "+err.Error(), code)
}
