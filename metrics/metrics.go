package metrics

import (
	"iter"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/flota-dev/flota/reason"
)

// Metrics are one flotad's series.
type Metrics struct {
	reg *prometheus.Registry

	leader      prometheus.Gauge
	passes      *prometheus.HistogramVec
	changes     prometheus.Counter
	placements  prometheus.Counter
	removals    prometheus.Counter
	passErrors  prometheus.Counter
	unplaced    *prometheus.GaugeVec
	reconciles  prometheus.Histogram
	reconErrors prometheus.Counter
	pulls       *prometheus.CounterVec
	pullSeconds prometheus.Histogram
	pullBytes   prometheus.Counter
	requests    *prometheus.CounterVec
	info        *prometheus.GaugeVec
	sdCalls     *prometheus.CounterVec
	sdSeconds   *prometheus.HistogramVec
}

// New makes the series of a flotad of version, registered on a registry
// of their own.
func New(version string) *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		leader: prometheus.NewGauge(prometheus.GaugeOpts{Name: "flota_engine_leader",
			Help: "1 while this flotad's engine leads, 0 otherwise."}),
		passes: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "flota_engine_pass_seconds",
			Help:    "How long the leading engine's scheduling passes took (build, schedule and apply), by kind: whole or incremental.",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 10)}, []string{"kind"}),
		changes: prometheus.NewCounter(prometheus.CounterOpts{Name: "flota_engine_changes_total",
			Help: "Units whose placement, reason or notes a pass changed, written."}),
		placements: prometheus.NewCounter(prometheus.CounterOpts{Name: "flota_engine_placements_total",
			Help: "Placements the engine wrote (a unit given a machine)."}),
		removals: prometheus.NewCounter(prometheus.CounterOpts{Name: "flota_engine_removals_total",
			Help: "Placements the engine removed (a unit taken off a machine: moved, stopped or destroyed)."}),
		passErrors: prometheus.NewCounter(prometheus.CounterOpts{Name: "flota_engine_pass_errors_total",
			Help: "Passes whose plan could not be written (etcd unavailable, or the cluster changed under it)."}),
		unplaced: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "flota_engine_unplaced_units",
			Help: "Units the engine could not place, by reason code and the first rule that filtered machines."}, []string{"code", "rule"}),
		reconciles: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "flota_agent_reconcile_seconds",
			Help:    "How long the agent's passes over its units took (plan and apply, starts not waited for).",
			Buckets: prometheus.ExponentialBuckets(0.0005, 4, 10)}),
		reconErrors: prometheus.NewCounter(prometheus.CounterOpts{Name: "flota_agent_reconcile_errors_total",
			Help: "Agent passes that ended in an error (retried)."}),
		pulls: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "flota_agent_image_pulls_total",
			Help: "Image pulls the agent ended, by result: ok or failed."}, []string{"result"}),
		pullBytes: prometheus.NewCounter(prometheus.CounterOpts{Name: "flota_agent_image_pull_bytes_total",
			Help: "Bytes of image layers the agent's pulls received."}),
		pullSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "flota_agent_image_pull_seconds",
			Help:    "How long the agent's image pulls took.",
			Buckets: prometheus.ExponentialBuckets(0.05, 3, 9)}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "flota_api_requests_total",
			Help: "Requests flotad's HTTP API answered, by route and status code."}, []string{"route", "code"}),
		sdCalls: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "flota_agent_systemd_calls_total",
			Help: "Calls the agent made of its machine's systemd (over D-Bus), by call and result: ok or error."}, []string{"call", "result"}),
		sdSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "flota_agent_systemd_call_seconds",
			Help:    "How long the agent's calls of its machine's systemd took, by call.",
			Buckets: prometheus.ExponentialBuckets(0.0002, 4, 10)}, []string{"call"}),
		info: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "flota_build_info",
			Help: "1, labelled with the flotad version."}, []string{"version"}),
	}
	m.reg.MustRegister(m.leader, m.passes, m.changes, m.placements, m.removals, m.passErrors, m.unplaced,
		m.reconciles, m.reconErrors, m.pulls, m.pullSeconds, m.pullBytes, m.requests, m.info, m.sdCalls, m.sdSeconds)
	m.info.WithLabelValues(version).Set(1)
	return m
}

// Handler serves flota's series and the default registry's (the embedded
// etcd's, the Go runtime's and the process's).
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(prometheus.Gatherers{m.reg, prometheus.DefaultGatherer}, promhttp.HandlerOpts{})
}

// Leading records whether this flotad's engine leads.
func (m *Metrics) Leading(on bool) {
	if on {
		m.leader.Set(1)
	} else {
		m.leader.Set(0)
		m.unplaced.Reset() // a standby's counts would be stale
	}
}

// Pass records one scheduling pass: whole or incremental, how long it
// took, the placements it wrote and removed over how many units, and
// whether its plan failed to apply.
func (m *Metrics) Pass(whole bool, took time.Duration, units, put, removed int, err error) {
	kind := "incremental"
	if whole {
		kind = "whole"
	}
	m.passes.WithLabelValues(kind).Observe(took.Seconds())
	if err != nil {
		m.passErrors.Inc()
		return
	}
	m.changes.Add(float64(units))
	m.placements.Add(float64(put))
	m.removals.Add(float64(removed))
}

// Unplaced sets the units the engine could not place, as its records
// stand: counted here, then one gauge set a label pair.
func (m *Metrics) Unplaced(records iter.Seq[reason.Unplaced]) {
	type labels struct{ code, rule string }
	counts := map[labels]int{}
	for r := range records {
		l := labels{code: string(r.Code)}
		if len(r.Filters) > 0 {
			l.rule = string(r.Filters[0].Code)
		}
		counts[l]++
	}
	m.unplaced.Reset()
	for l, n := range counts {
		m.unplaced.WithLabelValues(l.code, l.rule).Set(float64(n))
	}
}

// Reconciled records one agent pass.
func (m *Metrics) Reconciled(took time.Duration, err error) {
	m.reconciles.Observe(took.Seconds())
	if err != nil {
		m.reconErrors.Inc()
	}
}

// Pulled records one image pull.
func (m *Metrics) Pulled(took time.Duration, bytes int64, err error) {
	result := "ok"
	if err != nil {
		result = "failed"
	}
	m.pulls.WithLabelValues(result).Inc()
	m.pullSeconds.Observe(took.Seconds())
	m.pullBytes.Add(float64(bytes))
}

// Requests counts the requests h answers, by route (the mux pattern that
// matched, else "other") and status code.
func (m *Metrics) Requests(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &status{ResponseWriter: w, code: http.StatusOK}
		h.ServeHTTP(rec, r)
		route := r.Pattern
		if route == "" {
			route = "other"
		}
		m.requests.WithLabelValues(route, strconv.Itoa(rec.code)).Inc()
	})
}

// status records the code a handler wrote; Flush passes through, as the
// journal's streams need it.
type status struct {
	http.ResponseWriter
	code int
}

func (s *status) WriteHeader(code int) {
	s.code = code
	s.ResponseWriter.WriteHeader(code)
}

func (s *status) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the writer underneath.
func (s *status) Unwrap() http.ResponseWriter { return s.ResponseWriter }
