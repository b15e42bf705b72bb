package engine

import "sort"

// candidates narrows the machines worth checking for u, cheaply, from the
// rules that name machines outright: MachineID names one, MachineOf follows
// a peer, MachineMetadata selects by label through an index. ok is false
// when u names none of these and every machine is a candidate. The
// feasibility stack still decides; this only spares it machines that could
// never pass.
func (s *scheduler) candidates(u *Unit) (ms []*machineState, ok bool) {
	switch {
	case u.Req.MachineID != "":
		for _, m := range s.order {
			if (machineIDChecker{}).feasible(u, m) {
				ms = append(ms, m)
			}
		}
		return ms, true
	case len(u.Req.MachineOf) > 0:
		if m := s.at[u.Req.MachineOf[0]]; m != nil && !m.gone {
			return []*machineState{m}, true
		}
		return nil, true
	case len(u.Req.MachineMetadata) > 0:
		return s.byMetadata(u), true
	}
	return nil, false
}

// byMetadata returns the machines carrying one of the values u accepts for
// the key with the fewest such machines; the other keys are the stack's.
func (s *scheduler) byMetadata(u *Unit) []*machineState {
	if s.labels == nil {
		s.labels = map[string][]*machineState{}
		for _, m := range s.sortedMachines() {
			for k, v := range m.Metadata {
				s.labels[k+"="+v] = append(s.labels[k+"="+v], m)
			}
		}
	}
	var best []*machineState
	first := true
	keys := make([]string, 0, len(u.Req.MachineMetadata))
	for k := range u.Req.MachineMetadata {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		var ms []*machineState
		for _, v := range u.Req.MachineMetadata[k] {
			ms = append(ms, s.labels[k+"="+v]...)
		}
		if first || len(ms) < len(best) {
			best, first = ms, false
		}
	}
	return best
}
