// Package dashboard is flotad's web dashboard: the cluster as an operator
// watches it, served as HTML rendered on the server from one
// registry.Status, kept live by server-sent events, with nothing fetched
// at run time (no CDN: the page's one stylesheet and one script are
// embedded in the binary).
//
// Vocabulary, as everywhere in flota: a Unit is placed on a Machine by the
// Engine; the Agent of that machine publishes its state (systemd's LOAD,
// ACTIVE and SUB, and flota's own condition). The dashboard only reads:
// Model is one Status as shown, built purely (state in, rows out); the
// Feed watches the cluster and renders it once per change for every
// browser that follows it; the plan view is a dry run (engine.Preview) of
// one unit against the cluster as it stands.
//
// Routes, under the prefix flotad mounts it at (/ui/):
//
//	GET /ui/            the page: machines, units, their states and reasons
//	GET /ui/events      text/event-stream: "cluster" events, each the
//	                    page's #cluster part rendered anew, id the revision
//	GET /ui/plan?unit=U where U would go and every machine's score
//	GET /ui/assets/...  the stylesheet and the script
package dashboard
