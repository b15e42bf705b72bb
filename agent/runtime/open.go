package runtime

import (
	"context"
	"errors"

	"github.com/flota-dev/flota/agent/image"
	"github.com/flota-dev/flota/agent/volume"
)

// Open opens (creating them if need be) the image store at images and the
// volume root at volumes, both on BTRFS, and returns a Runtime that owns
// them until Close. src may be nil.
func Open(ctx context.Context, images, volumes string, src Source) (*Runtime, error) {
	s, err := image.Open(ctx, images)
	if err != nil {
		return nil, err
	}
	v, err := volume.Open(ctx, volumes)
	if err != nil {
		s.Close()
		return nil, err
	}
	r := New(Config{Images: s, Volumes: v, Source: src})
	r.closers = []func() error{v.Close, s.Close}
	return r, nil
}

// Close releases what Open opened.
func (r *Runtime) Close() error {
	var errs []error
	for _, c := range r.closers {
		errs = append(errs, c())
	}
	r.closers = nil
	return errors.Join(errs...)
}
