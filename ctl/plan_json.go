package ctl

import (
	"encoding/json"
	"io"

	"github.com/flota-dev/flota/clusterapi"
	"github.com/flota-dev/flota/engine"
	"github.com/flota-dev/flota/registry"
)

// writePlanJSON prints the preview as the API's plan document and returns
// how many of the units named cannot be placed, as writePlan.
func writePlanJSON(w io.Writer, cluster *registry.Cluster, pv engine.Preview, names []string) (int, error) {
	out, unplaceable := clusterapi.PlanOf(cluster, pv, names)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return unplaceable, enc.Encode(out)
}
