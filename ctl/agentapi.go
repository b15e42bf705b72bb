package ctl

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/flota-dev/flota/machineapi"
	"github.com/flota-dev/flota/registry"
)

// machinesOf returns the machines a unit is placed on, in ID order, or an
// error worded as fleetctl's when it is on none.
func machinesOf(st *registry.Status, name string) ([]registry.Machine, error) {
	known := slices.ContainsFunc(st.Units, func(u registry.Unit) bool { return u.Name == name })
	if !known {
		return nil, fmt.Errorf("Unit %s does not exist.", name)
	}
	byID := map[string]registry.Machine{}
	for _, m := range st.Machines {
		byID[m.ID] = m
	}
	var out []registry.Machine
	for _, p := range st.Placements {
		if p.Unit == name {
			if m, ok := byID[p.Machine]; ok {
				out = append(out, m)
			}
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("Unit %s does not appear to be running.", name)
	}
	slices.SortFunc(out, func(a, b registry.Machine) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// agentGet asks a machine's Agent for path and copies the answer to w as it
// streams; it returns the exit status of the command the Agent ran. The
// request timeout bounds the wait for the answer to start, not the stream
// (journal --follow runs until interrupted).
func (c *cli) agentGet(ctx context.Context, m registry.Machine, path string, q url.Values, w io.Writer) (int, error) {
	if m.API == "" {
		return 0, fmt.Errorf("machine %s serves no agent API (is its flotad older, or started with --agent-api=off?)", machineID(m.ID, false))
	}
	u := m.API + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, fmt.Errorf("agent of machine %s: %w", machineID(m.ID, false), err)
	}
	client := &http.Client{Transport: &http.Transport{ResponseHeaderTimeout: c.timeout, TLSClientConfig: c.apiTLS}}
	defer client.CloseIdleConnections()
	c.log.Debug("agent request", "url", u)
	resp, err := client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("agent of machine %s at %s: %w", machineID(m.ID, false), m.API, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return 0, fmt.Errorf("agent of machine %s: %s", machineID(m.ID, false), trimNewline(string(msg)))
	}
	if _, err := io.Copy(w, resp.Body); err != nil {
		return 0, fmt.Errorf("agent of machine %s: %w", machineID(m.ID, false), err)
	}
	status, err := strconv.Atoi(resp.Trailer.Get(machineapi.ExitTrailer))
	if err != nil {
		return 0, fmt.Errorf("agent of machine %s: no exit status in its answer", machineID(m.ID, false))
	}
	return status, nil
}

func trimNewline(s string) string { return strings.TrimRight(s, "\r\n") }
