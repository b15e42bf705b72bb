// Package reason holds why the Engine decided what it did, as data: an
// Unplaced record for a Unit it could not place, made of a Code with its
// arguments and, when machines were filtered, one counted Filter per rule
// that filtered them (Nomad's placement failures, fleet's task reasons).
//
// The Engine stores records and compares them; the words are made here,
// once, by String, for flotactl and the README alike. So tests assert
// codes, clients tell "never fits" from "full now" by code, and rewording
// a message never rewrites a stored record: a record changes only when
// its meaning does.
package reason
