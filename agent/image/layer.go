package image

import (
	"encoding/hex"
	"fmt"
	"hash"
	"strings"
	"time"
)

// LayerID is "sha256:" and 64 lowercase hex digits; "" is no layer (the
// parent of a base layer).
type LayerID string

const idPrefix = "sha256:"

// ParseLayerID checks s is a well-formed LayerID.
func ParseLayerID(s string) (LayerID, error) {
	h, ok := strings.CutPrefix(s, idPrefix)
	if !ok || len(h) != 64 || strings.ToLower(h) != h {
		return "", fmt.Errorf("layer id %q: %w", s, ErrInvalid)
	}
	if _, err := hex.DecodeString(h); err != nil {
		return "", fmt.Errorf("layer id %q: %w", s, ErrInvalid)
	}
	return LayerID(s), nil
}

func idOf(h hash.Hash) LayerID { return LayerID(idPrefix + hex.EncodeToString(h.Sum(nil))) }

// hex is the ID without its algorithm, the layer's directory name.
func (id LayerID) hex() string { return strings.TrimPrefix(string(id), idPrefix) }

// Manifest describes a layer; it is stored next to it as manifest.json.
type Manifest struct {
	ID      LayerID   `json:"id"`
	Parent  LayerID   `json:"parent,omitempty"`
	Size    int64     `json:"size"` // bytes of the stream the ID hashes
	Created time.Time `json:"created"`
}

// Task is what the store records of a task snapshot, as task.json.
type Task struct {
	Key     string    `json:"key"`
	Layer   LayerID   `json:"layer,omitempty"`
	Created time.Time `json:"created"`
}

// checkName accepts tag names and task keys: they become file names, so
// no separators, no dot files, nothing a shell or systemd unit name would
// choke on ("app-web:3", "web@3.service").
func checkName(kind, s string) error {
	ok := s != "" && len(s) <= 200 && s[0] != '.' && s[0] != '-'
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		case strings.ContainsRune("-_.:@+", r):
		default:
			ok = false
		}
	}
	if !ok {
		return fmt.Errorf("%s %q: %w", kind, s, ErrInvalid)
	}
	return nil
}
