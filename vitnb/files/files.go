// Package files holds vitnb's files on disk: the cache folders of data sets and weights, downloads into them
// (resume, verification before the rename, progress), the cheap re-check of a cached file, and atomic writes.
package files

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Environment variables that move the cache folders.
const (
	// EnvCache moves the whole cache (default: vitnb under os.UserCacheDir(), ~/.cache/vitnb on Linux).
	EnvCache = "VITNB_CACHE"
	// EnvDatasets moves the data-set cache only (default: CacheRoot()/datasets).
	EnvDatasets = "VITNB_DATA"
	// EnvWeights moves the weights cache only (default: CacheRoot()/weights).
	EnvWeights = "VITNB_WEIGHTS_DIR"
)

// CacheRoot is vitnb's cache folder: $VITNB_CACHE if set, else vitnb in the user's cache folder (~/.cache/vitnb
// on Linux), else, when the system has no user cache folder ($HOME unset), PrivateTempRoot: a folder of this
// user's own in the temporary folder, which CheckCache requires to be private before anything in it is trusted.
func CacheRoot() string {
	if d := os.Getenv(EnvCache); d != "" {
		return d
	}
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "vitnb")
	}
	return PrivateTempRoot()
}

// PrivateTempRoot is the folder that stands for the user's cache folder when there is none ($HOME unset):
// vitnb-UID in the temporary folder. Unlike a shared /tmp/vitnb, where anyone could leave files and verification
// stamps for vitnb to trust, it must belong to this user alone (CheckCache).
func PrivateTempRoot() string {
	return filepath.Join(os.TempDir(), fmt.Sprintf("vitnb-%d", os.Getuid()))
}

// CheckCache returns an error when path lies in PrivateTempRoot and that folder is not private: it is created
// (mode 0700) when missing, and refused when it is a link or a file, belongs to another user, or can be written by
// group or others. Paths elsewhere are the user's choice and pass. Whatever reads or writes the cache calls it
// first (downloads, the checks of cached files and their stamps, the data sets' and the Hub's folders).
func CheckCache(path string) error {
	root := PrivateTempRoot()
	if rel, err := filepath.Rel(root, path); err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return nil
	}
	if err := os.Mkdir(root, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("vitnb's cache folder %s ($HOME is not set): %w", root, err)
	}
	st, err := os.Lstat(root)
	why := ""
	switch {
	case err != nil:
		return fmt.Errorf("vitnb's cache folder %s ($HOME is not set): %w", root, err)
	case !st.IsDir():
		why = "it is not a folder (a link?)"
	case !ownedByMe(st):
		why = "another user owns it"
	case st.Mode().Perm()&0o022 != 0:
		why = fmt.Sprintf("others may write into it (mode %04o)", st.Mode().Perm())
	default:
		return nil
	}
	return fmt.Errorf("vitnb's cache folder %s ($HOME is not set) is not private: %s; set HOME or %s to a folder of yours", root, why, EnvCache)
}

// DatasetsDir is the cache folder of data sets: $VITNB_DATA if set, else CacheRoot()/datasets.
func DatasetsDir() string {
	if d := os.Getenv(EnvDatasets); d != "" {
		return d
	}
	return filepath.Join(CacheRoot(), "datasets")
}

// WeightsDir is the cache folder of pretrained weights: $VITNB_WEIGHTS_DIR if set, else CacheRoot()/weights.
func WeightsDir() string {
	if d := os.Getenv(EnvWeights); d != "" {
		return d
	}
	return filepath.Join(CacheRoot(), "weights")
}

// WriteAtomic writes a file through write: into a temporary file in the same folder (created if needed), flushed
// to disk (fsync) and renamed over path only when write succeeded, so that readers see the old file or the new
// one, never a part. The file gets mode 0644. A device or a pipe at path (-o /dev/null, a FIFO) is written into,
// not replaced: a rename would put a regular file in its place.
func WriteAtomic(path string, write func(w io.Writer) error) (err error) {
	if path == "" {
		return errors.New("writing: no file name (an empty path)")
	}
	if st, err := os.Stat(path); err == nil && !st.Mode().IsRegular() {
		if st.IsDir() {
			return fmt.Errorf("writing %s: it is a folder", path)
		}
		return writeInto(path, write)
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	bw := bufio.NewWriterSize(tmp, 1<<20)
	if err := write(bw); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	syncDir(dir)
	return nil
}

// writeInto writes into the existing file at path (a device or a pipe) through write.
func writeInto(path string, write func(w io.Writer) error) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	err = write(bw)
	if err == nil {
		err = bw.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// WriteJSON writes v as indented JSON (two spaces, a final newline) to path atomically (WriteAtomic).
func WriteJSON(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return WriteAtomic(path, func(w io.Writer) error {
		_, err := w.Write(append(data, '\n'))
		return err
	})
}

// syncDir flushes a folder's entries (the rename) to disk; best effort, as some file systems refuse it.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
}

// MaxSidecarSize bounds a sidecar file, one that describes another (config.json, preprocessor_config.json,
// model.json, run.json, checkpoints.json, a checkpoint's metadata): 16 MiB, where Hugging Face's config.json with the
// 21,843 ImageNet-21k labels is about 1 MB.
const MaxSidecarSize = 16 << 20

// ReadSidecar reads a sidecar file (see MaxSidecarSize) with ReadLimited.
func ReadSidecar(path string) ([]byte, error) { return ReadLimited(path, MaxSidecarSize) }

// ReadLimited reads a file of at most limit bytes. It reads through an io.LimitReader, whatever size the file
// claims (a symbolic link to /dev/zero, a file that grows), and refuses a folder, a named pipe or a socket before
// reading it (opening a pipe would wait for a writer). Errors name the file; a missing file gives os.Open's error
// (errors.Is(err, fs.ErrNotExist)).
func ReadLimited(path string, limit int64) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	switch mode := st.Mode(); {
	case mode.IsDir():
		return nil, fmt.Errorf("%s is a folder, not a file", path)
	case mode&(os.ModeNamedPipe|os.ModeSocket) != 0:
		return nil, fmt.Errorf("%s is not a regular file (%s)", path, mode.Type())
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s is larger than the %s such a file may have", path, FormatBytes(float64(limit)))
	}
	return data, nil
}
