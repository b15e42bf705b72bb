package image

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"strings"

	"github.com/flota-dev/flota/agent/subvol"
)

// Every btrfs(8) command the store runs is here. btrfs-progs is the
// supported interface to send/receive (the ioctls need a stream parser we
// would rather not own); the cost is a fork per call, a few milliseconds.

// btrfs runs `btrfs args...` with stdin and stdout as given.
func btrfs(ctx context.Context, stdin io.Reader, stdout io.Writer, args ...string) error {
	return subvol.Run(ctx, stdin, stdout, args...)
}

func createSubvolume(ctx context.Context, path string) error { return subvol.Create(ctx, path) }

func snapshot(ctx context.Context, src, dst string, readOnly bool) error {
	args := []string{"subvolume", "snapshot"}
	if readOnly {
		args = append(args, "-r")
	}
	return btrfs(ctx, nil, nil, append(args, src, dst)...)
}

func deleteSubvolume(ctx context.Context, path string) error { return subvol.Delete(ctx, path) }

// send writes the stream of subvol, incremental against parent unless
// parent is "". The protocol version is pinned: a newer default would
// change the bytes, and so the IDs, of every layer.
func send(ctx context.Context, w io.Writer, subvol, parent string) error {
	args := []string{"-q", "send", "--proto", "1"}
	if parent != "" {
		args = append(args, "-p", parent)
	}
	return btrfs(ctx, nil, w, append(args, subvol)...)
}

// receive creates under dir the subvolume the stream r describes.
func receive(ctx context.Context, r io.Reader, dir string) error {
	return btrfs(ctx, r, nil, "-q", "receive", dir)
}

// subvolumeInfo is what the store reads of `btrfs subvolume show`.
type subvolumeInfo struct {
	UUID, ParentUUID, ReceivedUUID string // "-" when none
	ReadOnly                       bool
}

// origin is the UUID of the subvolume a subvolume is a received copy of
// (a send stream names a received subvolume by its received UUID), or its
// own UUID when it was not received: copies of one layer share it.
func (i subvolumeInfo) origin() string {
	if i.ReceivedUUID != "-" && i.ReceivedUUID != "" {
		return i.ReceivedUUID
	}
	return i.UUID
}

func showSubvolume(ctx context.Context, path string) (subvolumeInfo, error) {
	return showSubvolumeArgs(ctx, path)
}

// showSubvolumeByUUID shows the subvolume with the given UUID on the
// filesystem that holds path, wherever it is.
func showSubvolumeByUUID(ctx context.Context, path, uuid string) (subvolumeInfo, error) {
	return showSubvolumeArgs(ctx, "-u", uuid, path)
}

func showSubvolumeArgs(ctx context.Context, args ...string) (subvolumeInfo, error) {
	var out bytes.Buffer
	if err := btrfs(ctx, nil, &out, append([]string{"subvolume", "show"}, args...)...); err != nil {
		return subvolumeInfo{}, err
	}
	var info subvolumeInfo
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		switch strings.TrimSpace(k) {
		case "UUID":
			info.UUID = v
		case "Parent UUID":
			info.ParentUUID = v
		case "Received UUID":
			info.ReceivedUUID = v
		case "Flags":
			info.ReadOnly = strings.Contains(v, "readonly")
		}
	}
	return info, nil
}
