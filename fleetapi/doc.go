// Package fleetapi is fleet's HTTP API v1 (/fleet/v1/units, /state,
// /machines), served by flotad over the cluster flota keeps, so that fleet
// clients and `fleetctl --driver=API` users keep working: the entities'
// JSON shapes and status codes are fleet's (Documentation/api-v1.md).
//
// Its types and paths are here for the server and for clients alike. A
// collection is one page (no nextPageToken): fleet's clients read on
// until there is none.
package fleetapi
