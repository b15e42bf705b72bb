package runtime

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path"
	"strings"

	"github.com/flota-dev/flota/agent/image"
)

// chainFile is chain.json; a layer is its ID, or an object with the ID and
// the file holding its stream (as agent/image/build writes).
type chainFile struct {
	Image  string            `json:"image"`
	Layers []json.RawMessage `json:"layers"`
}

type chainLayer struct {
	ID   image.LayerID `json:"id"`
	File string        `json:"file"`
}

// imageDir is the name of image's directory in a source, <name>_<tag>. It
// refuses a name that could step out of the source (a slash, a leading
// dot), whether the source is a directory or a URL.
func imageDir(img string) (string, error) {
	name, tag, ok := strings.Cut(img, ":")
	if !ok || name == "" || tag == "" || strings.ContainsAny(img, "/\\") || strings.HasPrefix(name, ".") {
		return "", fmt.Errorf("image %q: %w", img, image.ErrInvalid)
	}
	return name + "_" + tag, nil
}

// parseChain parses and checks chain.json of img, read from where (a path
// or URL, for errors): every source goes through it, so a chain that one
// refuses they all refuse. A layer's file must be a plain name in the
// image's directory, never a path or a dotfile.
func parseChain(data []byte, img, where string) ([]chainLayer, error) {
	var cf chainFile
	if err := json.Unmarshal(data, &cf); err != nil {
		return nil, fmt.Errorf("%s: %w: %w", where, image.ErrInvalid, err)
	}
	if cf.Image != img {
		return nil, fmt.Errorf("%s is of image %q, not %q: %w", where, cf.Image, img, image.ErrInvalid)
	}
	out := make([]chainLayer, 0, len(cf.Layers))
	for _, raw := range cf.Layers {
		var l chainLayer
		var err error
		if bytes.HasPrefix(bytes.TrimSpace(raw), []byte("{")) {
			err = json.Unmarshal(raw, &l)
		} else {
			err = json.Unmarshal(raw, &l.ID)
		}
		if err == nil {
			_, err = image.ParseLayerID(string(l.ID))
		}
		if err != nil {
			return nil, fmt.Errorf("%s: layer %s: %w", where, raw, err)
		}
		if l.File == "" {
			l.File = strings.TrimPrefix(string(l.ID), "sha256:") + ".btrfs"
		}
		if !plainName(l.File) {
			return nil, fmt.Errorf("%s: layer file %q: %w", where, l.File, image.ErrInvalid)
		}
		out = append(out, l)
	}
	return out, nil
}

// plainName reports whether name is one path element that is neither a
// dotfile (nor . or ..) nor has a separator of either kind.
func plainName(name string) bool {
	return name != "" && name == path.Base(name) && !strings.HasPrefix(name, ".") && !strings.ContainsAny(name, "/\\\x00")
}

func layerIDs(ls []chainLayer) []image.LayerID {
	ids := make([]image.LayerID, len(ls))
	for i, l := range ls {
		ids[i] = l.ID
	}
	return ids
}

func findLayer(ls []chainLayer, img string, layer image.LayerID) (chainLayer, error) {
	for _, l := range ls {
		if l.ID == layer {
			return l, nil
		}
	}
	return chainLayer{}, fmt.Errorf("image %s has no layer %s: %w", img, layer, image.ErrNotFound)
}
