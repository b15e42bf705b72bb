package clusterapi

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/flota-dev/flota/registry"
	"github.com/flota-dev/flota/unit"
)

// Client is the cluster through flotad's API, with the registry's method
// set (flotactl --driver=API): reads of /v1/status in the registry's own
// form, writes through /v1/units, each one transaction on flotad's side as
// on etcd, errors classified by the registry's sentinels. What only
// etcd's credentials may do (labels, drains, users) is refused, naming
// --driver=etcd.
type Client struct {
	base   string // http://flotad, or https://HOST:PORT
	client *http.Client
}

// DefaultEndpoint is flotad's default --api socket.
const DefaultEndpoint = "unix:///var/lib/flota/flota.sock"

// NewClient reaches flotad's API at endpoint: unix:///PATH, or
// http(s)://HOST:PORT (https with tc's certificates).
func NewClient(endpoint string, tc *tls.Config) (*Client, error) {
	switch {
	case strings.HasPrefix(endpoint, "unix://"):
		path := strings.TrimPrefix(endpoint, "unix://")
		return &Client{base: "http://flotad", client: &http.Client{Transport: &http.Transport{
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				return (&net.Dialer{}).DialContext(ctx, "unix", path)
			}}}}, nil
	case strings.HasPrefix(endpoint, "http://"), strings.HasPrefix(endpoint, "https://"):
		return &Client{base: strings.TrimSuffix(endpoint, "/"), client: &http.Client{Transport: &http.Transport{TLSClientConfig: tc}}}, nil
	}
	return nil, fmt.Errorf("%q: want flotad's API: unix:///PATH (default %s), http://HOST:PORT or https://HOST:PORT", endpoint, DefaultEndpoint)
}

// do sends one request and decodes a 2xx answer's JSON into out (when not
// nil); any other answer is an error of the registry's kind for its
// status, with flotad's words.
func (a *Client) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, body)
	if err != nil {
		return err
	}
	resp, err := a.client.Do(req)
	if err != nil {
		return unreachable{err}
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return apiError(resp.StatusCode, strings.TrimSpace(string(msg)))
	}
	if out == nil {
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("flotad's API at %s: %s %s: %w", a.base, method, path, err)
	}
	return nil
}

// apiError classifies an answer as the registry's sentinels do, so that
// every command words and exits as it does over etcd.
func apiError(code int, msg string) error {
	switch code {
	case http.StatusNotFound:
		return fmt.Errorf("%w: %s", registry.ErrNotFound, msg)
	case http.StatusConflict:
		return fmt.Errorf("%w: %s", registry.ErrExists, msg)
	case http.StatusBadRequest:
		return fmt.Errorf("%w: %s", registry.ErrInvalid, msg)
	case http.StatusServiceUnavailable:
		return fmt.Errorf("%w: %s", registry.ErrUnavailable, msg)
	}
	return fmt.Errorf("flotad's API: %d: %s", code, msg)
}

func (a *Client) ReadStatus(ctx context.Context) (*registry.Status, error) {
	var st registry.Status
	if err := a.do(ctx, http.MethodGet, "/v1/status?form=registry", nil, &st); err != nil {
		return nil, err
	}
	return &st, nil
}

func (a *Client) LoadCluster(ctx context.Context, _ *slog.Logger) (*registry.Cluster, error) {
	st, err := a.ReadStatus(ctx)
	if err != nil {
		return nil, err
	}
	return st.Cluster(), nil
}

func (a *Client) Unit(ctx context.Context, name string) (registry.Unit, error) {
	st, err := a.ReadStatus(ctx)
	if err != nil {
		return registry.Unit{}, err
	}
	if i := slices.IndexFunc(st.Units, func(u registry.Unit) bool { return u.Name == name }); i >= 0 {
		return st.Units[i], nil
	}
	return registry.Unit{}, fmt.Errorf("%w: unit %s", registry.ErrNotFound, name)
}

func (a *Client) Machines(ctx context.Context) ([]registry.Machine, error) {
	st, err := a.ReadStatus(ctx)
	if err != nil {
		return nil, err
	}
	return st.Machines, nil
}

func (a *Client) File(ctx context.Context, h unit.Hash) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.base+"/v1/files/"+h.String(), nil)
	if err != nil {
		return nil, err
	}
	resp, err := a.client.Do(req)
	if err != nil {
		return nil, unreachable{err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return nil, apiError(resp.StatusCode, strings.TrimSpace(string(b)))
	}
	return b, err
}

// TxnOps is what a request may carry: flotad batches each write under
// etcd's limit itself.
func (a *Client) TxnOps() int { return 128 }

func (a *Client) CreateUnits(ctx context.Context, files []*unit.File, desired registry.State) error {
	body := NewUnits{DesiredState: desired}
	for _, f := range files {
		body.Units = append(body.Units, NewUnit{Name: f.Name, File: string(f.Bytes())})
	}
	return a.do(ctx, http.MethodPost, "/v1/units", body, nil)
}

func (a *Client) SetDesiredState(ctx context.Context, names []string, state registry.State) error {
	return a.do(ctx, http.MethodPost, "/v1/units/desired-state", UnitNames{DesiredState: state, Units: names}, nil)
}

func (a *Client) DestroyUnits(ctx context.Context, names []string) error {
	return a.do(ctx, http.MethodPost, "/v1/units/destroy", UnitNames{Units: names}, nil)
}

// unreachable is flotad's API not answering: registry.ErrUnavailable to
// every caller (flotactl's words and exit code), without etcd's name.
type unreachable struct{ err error }

func (e unreachable) Error() string        { return e.err.Error() }
func (e unreachable) Unwrap() error        { return e.err }
func (e unreachable) Is(target error) bool { return target == registry.ErrUnavailable }

// errNeedsEtcd refuses what flotad's API does not do.
func errNeedsEtcd(what string) error {
	return fmt.Errorf("%s is not done through flotad's API: use --driver=etcd with etcd's endpoint", what)
}

func (a *Client) ReplaceUnit(context.Context, *unit.File) error {
	return errNeedsEtcd("submit --replace")
}

func (a *Client) SetLabels(context.Context, string, registry.LabelChange) (registry.Labels, error) {
	return registry.Labels{}, errNeedsEtcd("label")
}
func (a *Client) SetDrain(context.Context, registry.Drain) error { return errNeedsEtcd("drain") }
func (a *Client) Undrain(context.Context, string) (bool, error) {
	return false, errNeedsEtcd("undrain")
}
func (a *Client) Grant(context.Context, string, ...string) error { return errNeedsEtcd("auth-grant") }
func (a *Client) EnableAuth(context.Context) error               { return errNeedsEtcd("auth-enable") }
func (a *Client) TLSRefusal(context.Context) error               { return nil }
func (a *Client) Close() error                                   { a.client.CloseIdleConnections(); return nil }

// WatchStatus follows /v1/events: a change after each revision line; the
// channel closes when ctx ends or the stream does (after an error).
func (a *Client) WatchStatus(ctx context.Context, after int64) <-chan registry.StatusChange {
	out := make(chan registry.StatusChange, 1)
	go func() {
		defer close(out)
		send := func(ch registry.StatusChange) bool {
			select {
			case out <- ch:
				return true
			case <-ctx.Done():
				return false
			}
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.base+"/v1/events?after="+strconv.FormatInt(after, 10), nil)
		if err != nil {
			send(registry.StatusChange{Err: err})
			return
		}
		resp, err := a.client.Do(req)
		if err != nil {
			send(registry.StatusChange{Err: unreachable{err}})
			return
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
			send(registry.StatusChange{Err: apiError(resp.StatusCode, strings.TrimSpace(string(msg)))})
			return
		}
		lines := bufio.NewScanner(resp.Body)
		for lines.Scan() {
			var ev struct {
				Revision int64  `json:"revision"`
				Error    string `json:"error"`
			}
			if err := json.Unmarshal(lines.Bytes(), &ev); err != nil {
				send(registry.StatusChange{Err: fmt.Errorf("flotad's event stream: %w", err)})
				return
			}
			switch {
			case ev.Error != "":
				send(registry.StatusChange{Err: errors.New(ev.Error)})
				return
			case ev.Revision > after: // the first line says where the stream starts; {} is a heartbeat
				if !send(registry.StatusChange{Revision: ev.Revision}) {
					return
				}
			}
		}
		if ctx.Err() == nil {
			send(registry.StatusChange{Err: unreachable{errors.New("flotad's event stream ended")}})
		}
	}()
	return out
}
