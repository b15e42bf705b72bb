package unit

import (
	"crypto/sha1"
	"encoding/hex"
	"fmt"
)

// Hash identifies a unit's content: the SHA-1 of its normalized text (see
// File.Bytes). It is fleet's hash, so the same file shows the same hash in
// fleetctl and flotactl.
type Hash [sha1.Size]byte

// String returns the 40 lower-case hex digits.
func (h Hash) String() string { return hex.EncodeToString(h[:]) }

// Short returns the first 7 hex digits, as list-unit-files shows them.
func (h Hash) Short() string { return h.String()[:7] }

// IsZero reports whether h is the zero Hash, i.e. no content.
func (h Hash) IsZero() bool { return h == Hash{} }

// ParseHash reads the 40-hex-digit form String returns.
func ParseHash(s string) (Hash, error) {
	var h Hash
	if len(s) != hex.EncodedLen(len(h)) {
		return Hash{}, fmt.Errorf("invalid hash %q: want %d hex digits", s, hex.EncodedLen(len(h)))
	}
	if _, err := hex.Decode(h[:], []byte(s)); err != nil {
		return Hash{}, fmt.Errorf("invalid hash %q: %v", s, err)
	}
	return h, nil
}

// HashOf returns the hash of a unit file's normalized form. It applies the
// same syntax checks as Parse but, having no name, none of the [X-Fleet]
// checks, so for any file Parse accepts it returns that File's Hash.
func HashOf(data []byte) (Hash, error) {
	n, err := normalize("", data)
	if err != nil {
		return Hash{}, err
	}
	return sha1.Sum(n.text), nil
}
