package fleetapi

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/flota-dev/flota/registry"
)

// MachinePatch is one operation of PATCH /fleet/v1/machines, a JSON Patch
// (RFC 6902) over the machines' metadata as fleet took it: op "add",
// "replace" or "remove", path "/<machineID>/metadata/<key>", value the
// new value.
type MachinePatch struct {
	Op    string `json:"op"`
	Path  string `json:"path"`
	Value string `json:"value,omitempty"`
}

// patchMachines sets or removes metadata keys of one machine, as operator
// labels (flotactl label): they outlive flotad's --metadata and move the
// units that stop matching. One request changes one machine, in one
// transaction; a patch over several is refused rather than half applied.
func (s *Server) patchMachines(w http.ResponseWriter, r *http.Request) {
	var ops []MachinePatch
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&ops); err != nil {
		problem(w, http.StatusBadRequest, "the body is not a JSON Patch of machines' metadata: "+err.Error())
		return
	}
	if len(ops) == 0 {
		problem(w, http.StatusBadRequest, "the patch has no operation")
		return
	}
	machine := ""
	ch := registry.LabelChange{Set: map[string]string{}}
	for i, op := range ops {
		parts := strings.Split(op.Path, "/")
		if len(parts) != 4 || parts[0] != "" || parts[1] == "" || parts[2] != "metadata" || parts[3] == "" {
			problem(w, http.StatusBadRequest, fmt.Sprintf("operation %d: path %q: want /<machineID>/metadata/<key>", i, op.Path))
			return
		}
		if machine != "" && parts[1] != machine {
			problem(w, http.StatusBadRequest, fmt.Sprintf("operation %d: machine %s: a patch changes one machine (%s), in one transaction", i, parts[1], machine))
			return
		}
		machine = parts[1]
		switch op.Op {
		case "add", "replace":
			ch.Set[parts[3]] = op.Value
		case "remove":
			ch.Remove = append(ch.Remove, parts[3])
		default:
			problem(w, http.StatusBadRequest, fmt.Sprintf("operation %d: op %q: want add, replace or remove", i, op.Op))
			return
		}
	}
	st, err := s.store.ReadStatus(r.Context())
	if err != nil {
		fail(w, err)
		return
	}
	known := false
	for _, m := range st.Machines {
		known = known || m.ID == machine
	}
	if !known {
		problem(w, http.StatusNotFound, fmt.Sprintf("machine %s does not exist", machine))
		return
	}
	if _, err := s.store.SetLabels(r.Context(), machine, ch); err != nil {
		fail(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
