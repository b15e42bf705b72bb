// Package unit reads the unit files users submit to a flota cluster and
// decides, once and the same way everywhere, what they mean.
//
// Vocabulary used throughout flota:
//
//   - Unit: a systemd unit file submitted to the cluster, known by its name,
//     such as "web@3.service". The name follows fleet's rules (see
//     ValidateName): the type is the text after the last '.', and the
//     instance, if any, is the text between the first '@' and that dot.
//   - Template: a unit whose name has an '@' right before the type, such as
//     "web@.service". A template is stored and parsed like any unit but is
//     never scheduled itself; it provides the content of its instances. Its
//     [X-Fleet] values that use %i are checked by each instance, for its
//     own name, not by the template, which has no instance.
//   - Instance: a unit such as "web@3.service" whose name carries an instance
//     ("3"). When no file of its own was submitted it reuses its template's
//     content (File.ForName), with specifiers resolved for its own name.
//   - Requirements: the [X-Fleet] section of a unit with fleet's semantics
//     (MachineID, MachineOf, MachineMetadata, Conflicts, Global, Replaces),
//     specifiers (%n %N %p %i %%) already expanded for the unit's name. The
//     engine schedules from Requirements alone.
//   - Hash: the SHA-1 of a unit's normalized text, the text go-systemd's
//     Serialize produces from the options Deserialize read. It is the hash
//     fleet showed, so comments and whitespace never change it and a unit
//     submitted to fleet and to flota shows the same hash in both.
//
// Every validation failure is an *Error that names the unit and, when the
// failure comes from a line of the file, that line; errors.Is tells a bad
// name (ErrInvalidName) from a bad file (ErrInvalidUnit).
package unit
