package registry

// SetEndpoints replaces the etcd client URLs the Registry spreads its
// requests over, as a cluster's membership grows or changes; requests in
// flight finish where they are. Error messages go on naming the endpoints
// given to Connect.
func (r *Registry) SetEndpoints(endpoints []string) {
	r.cli.SetEndpoints(endpoints...)
}
