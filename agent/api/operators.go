package api

import (
	"fmt"
	"net/http"

	"github.com/flota-dev/flota/pki"
)

// OperatorsOnly serves h to callers whose verified certificate is an
// operator's (pki.IsOperator), and refuses every other caller with 403
// saying why. The agent API serves over TLS to any certificate of the
// cluster's CA, a machine's included, so that machines can fetch images
// from each other; a machine's certificate reads no other machine's
// units' status or journal.
func OperatorsOnly(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS == nil || len(r.TLS.VerifiedChains) == 0 {
			http.Error(w, "this agent API serves units to operators' certificates only: the request has no verified certificate", http.StatusForbidden)
			return
		}
		if cert := r.TLS.VerifiedChains[0][0]; !pki.IsOperator(cert) {
			http.Error(w, fmt.Sprintf("this agent API serves units to operators' certificates only (flotactl pki-cert --operator): %q is not one", cert.Subject.CommonName), http.StatusForbidden)
			return
		}
		h.ServeHTTP(w, r)
	})
}
