// Package pki makes the certificates of a secured flota cluster: a CA, and
// the certificates it signs for the etcd members (server and peer), the
// machines, the engines and the operators (clients). Keys are ECDSA P-256;
// files are PEM, the key readable by its owner only.
//
// Vocabulary: a CA is the key and self-signed certificate every member and
// client trusts; a certificate's Name is its subject's common name, which
// etcd, with client-certificate authentication, takes as the client's user
// name.
package pki
