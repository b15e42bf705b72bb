package build

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// hashSource is the content hash of a copy source, a file or a directory
// tree: each entry's relative path, type, permission bits and contents
// (or link target), in lexical order. Times and owners are not hashed:
// the copy sets them (root, SOURCE_DATE_EPOCH).
func hashSource(src string) (string, error) {
	h := sha256.New()
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		fi, err := d.Info()
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%q %o ", rel, fi.Mode()&(fs.ModeType|fs.ModePerm|fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky))
		switch {
		case fi.Mode().IsRegular():
			f, err := os.Open(path)
			if err != nil {
				return err
			}
			defer f.Close()
			fmt.Fprintf(h, "%d\n", fi.Size())
			if _, err := io.Copy(h, f); err != nil {
				return err
			}
		case fi.Mode()&fs.ModeSymlink != 0:
			t, err := os.Readlink(path)
			if err != nil {
				return err
			}
			fmt.Fprintf(h, "-> %q", t)
		case fi.IsDir():
		default:
			return fmt.Errorf("%s: cannot copy %s", path, fi.Mode().Type())
		}
		h.Write([]byte{'\n'})
		return nil
	})
	if err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// copyInto copies src (file or tree) to dest inside root: dest ending in
// "/" means into that directory under src's base name. Missing parent
// directories are made (0755). Everything it writes is owned by root and
// has mtime epoch, and so does dest's parent directory.
func copyInto(root, src, dest string, epoch time.Time) error {
	if strings.HasSuffix(dest, "/") {
		dest += filepath.Base(src)
	}
	// The tree's symlinks are the tree's: /bin -> usr/bin, or an absolute
	// /var/run -> /run, must not lead out of root onto the host.
	pdir, err := resolveIn(root, filepath.Dir(filepath.Clean("/"+dest)))
	if err != nil {
		return err
	}
	parent := filepath.Join(root, pdir)
	target := filepath.Join(parent, filepath.Base(filepath.Clean("/"+dest)))
	if err := mkdirs(root, parent, epoch); err != nil {
		return err
	}
	var dirs []string // dir mtimes are set last: writing into a dir changes it
	err = filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		to := filepath.Join(target, rel)
		fi, err := d.Info()
		if err != nil {
			return err
		}
		perm := fi.Mode() & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky)
		switch {
		case fi.IsDir():
			if err := os.Mkdir(to, 0o700); err != nil && !os.IsExist(err) {
				return err
			}
			if err := os.Chmod(to, perm); err != nil {
				return err
			}
			dirs = append(dirs, to)
		case fi.Mode().IsRegular():
			if err := copyFile(path, to, perm); err != nil {
				return err
			}
		case fi.Mode()&fs.ModeSymlink != 0:
			t, err := os.Readlink(path)
			if err != nil {
				return err
			}
			if err := os.RemoveAll(to); err != nil {
				return err
			}
			if err := os.Symlink(t, to); err != nil {
				return err
			}
		default:
			return fmt.Errorf("%s: cannot copy %s", path, fi.Mode().Type())
		}
		if err := os.Lchown(to, 0, 0); err != nil && os.Geteuid() == 0 {
			return err
		}
		if fi.IsDir() {
			return nil
		}
		return setTime(to, epoch)
	})
	if err != nil {
		return err
	}
	for i := len(dirs) - 1; i >= 0; i-- {
		if err := setTime(dirs[i], epoch); err != nil {
			return err
		}
	}
	return setTime(parent, epoch)
}

func copyFile(from, to string, perm fs.FileMode) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	if fi, err := os.Lstat(to); err == nil && !fi.Mode().IsRegular() {
		if err := os.RemoveAll(to); err != nil {
			return err
		}
	}
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	return os.Chmod(to, perm)
}

// mkdirs makes dir and its missing parents under root, 0755 and epoch.
func mkdirs(root, dir string, epoch time.Time) error {
	if dir == root || len(dir) < len(root) {
		return nil
	}
	if fi, err := os.Lstat(dir); err == nil {
		if !fi.IsDir() {
			return fmt.Errorf("%s: not a directory", strings.TrimPrefix(dir, root))
		}
		return nil
	}
	if err := mkdirs(root, filepath.Dir(dir), epoch); err != nil {
		return err
	}
	if err := os.Mkdir(dir, 0o755); err != nil {
		return err
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		return err
	}
	if up := filepath.Dir(dir); up != root {
		if err := setTime(up, epoch); err != nil { // it changed: it has a new entry
			return err
		}
	}
	return setTime(dir, epoch)
}

func setTime(path string, t time.Time) error {
	ts := unix.NsecToTimespec(t.UnixNano())
	return unix.UtimesNanoAt(unix.AT_FDCWD, path, []unix.Timespec{ts, ts}, unix.AT_SYMLINK_NOFOLLOW)
}

// resolveIn resolves path (absolute, inside the tree root) following the
// tree's symlinks as the container would see them, and returns it,
// absolute and free of symlinks, relative to root. Missing components are
// kept as they are.
func resolveIn(root, path string) (string, error) {
	rest := strings.Split(strings.Trim(filepath.Clean(path), "/"), "/")
	cur := "/"
	for hops := 0; len(rest) > 0; {
		c := rest[0]
		rest = rest[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			cur = filepath.Dir(cur)
			continue
		}
		next := filepath.Join(cur, c)
		fi, err := os.Lstat(filepath.Join(root, next))
		if err != nil || fi.Mode()&fs.ModeSymlink == 0 {
			cur = next
			continue
		}
		if hops++; hops > 40 {
			return "", fmt.Errorf("%s: too many symlinks", path)
		}
		t, err := os.Readlink(filepath.Join(root, next))
		if err != nil {
			return "", err
		}
		if filepath.IsAbs(t) {
			cur = "/"
		}
		rest = append(strings.Split(t, "/"), rest...)
	}
	return cur, nil
}
