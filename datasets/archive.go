package datasets

import (
	"archive/tar"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// maxTarMember bounds the size of one archive member read into memory (CIFAR-100's train.bin is 154 MB).
const maxTarMember = 1 << 30

// openTarGz opens a .tar.gz (or plain .tar) archive.
func openTarGz(archive string) (*tar.Reader, func() error, error) {
	f, err := os.Open(archive)
	if err != nil {
		return nil, nil, fmt.Errorf("opening archive: %w", err)
	}
	var magic [2]byte
	if _, err := io.ReadFull(f, magic[:]); err != nil {
		_ = f.Close()
		return nil, nil, fmt.Errorf("%s: archive too short: %w", archive, err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		_ = f.Close()
		return nil, nil, fmt.Errorf("%s: %w", archive, err)
	}
	var r io.Reader = f
	if magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(f)
		if err != nil {
			_ = f.Close()
			return nil, nil, fmt.Errorf("%s: bad gzip header: %w", archive, err)
		}
		r = zr
	}
	return tar.NewReader(r), f.Close, nil
}

// cleanMember returns the cleaned relative path of a tar member, or "" when it must be skipped: absolute paths,
// paths escaping the target with "..", and macOS metadata files ("._name", "__MACOSX/").
func cleanMember(name string) string {
	name = path.Clean(strings.TrimPrefix(name, "./"))
	if name == "." || path.IsAbs(name) || name == ".." || strings.HasPrefix(name, "../") {
		return ""
	}
	if strings.HasPrefix(path.Base(name), "._") || strings.HasPrefix(name, "__MACOSX/") {
		return ""
	}
	return name
}

// readTarMembers reads the regular files of an archive for which want(name) is true into memory.
func readTarMembers(archive string, want func(name string) bool) (map[string][]byte, error) {
	tr, closeFn, err := openTarGz(archive)
	if err != nil {
		return nil, err
	}
	defer func() { _ = closeFn() }()
	out := map[string][]byte{}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: reading archive (truncated or corrupt?): %w", archive, err)
		}
		name := cleanMember(h.Name)
		if name == "" || h.Typeflag != tar.TypeReg || !want(name) {
			continue
		}
		if h.Size > maxTarMember {
			return nil, fmt.Errorf("%s: member %s is too large (%d bytes)", archive, name, h.Size)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			return nil, fmt.Errorf("%s: member %s truncated: %w", archive, name, err)
		}
		out[name] = b
	}
}

// extractTar extracts the archive into dir. It writes into a temporary folder inside dir first and moves each
// top-level entry into place only once the whole archive has been read, so an interrupted extraction leaves no
// half-filled folder behind. Top-level entries that already exist in dir are kept.
func extractTar(archive, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("creating %s: %w", dir, err)
	}
	tmp, err := os.MkdirTemp(dir, ".extract-")
	if err != nil {
		return fmt.Errorf("creating a temporary folder in %s: %w", dir, err)
	}
	defer func() { _ = os.RemoveAll(tmp) }()
	tr, closeFn, err := openTarGz(archive)
	if err != nil {
		return err
	}
	defer func() { _ = closeFn() }()
	tops := map[string]bool{}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("%s: reading archive (truncated or corrupt?): %w", archive, err)
		}
		name := cleanMember(h.Name)
		if name == "" {
			continue
		}
		target := filepath.Join(tmp, filepath.FromSlash(name))
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(target, 0o755); err != nil {
				return fmt.Errorf("extracting %s: %w", name, err)
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
				return fmt.Errorf("extracting %s: %w", name, err)
			}
			f, err := os.OpenFile(target, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
			if err != nil {
				return fmt.Errorf("extracting %s: %w", name, err)
			}
			_, err = io.Copy(f, tr)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return fmt.Errorf("%s: extracting member %s (archive truncated?): %w", archive, name, err)
			}
		default:
			continue // Links and devices are not part of the published archives.
		}
		tops[strings.SplitN(name, "/", 2)[0]] = true
	}
	for top := range tops {
		final := filepath.Join(dir, top)
		if _, err := os.Stat(final); err == nil {
			continue
		}
		if err := os.Rename(filepath.Join(tmp, top), final); err != nil {
			return fmt.Errorf("moving extracted %s into place: %w", top, err)
		}
	}
	return nil
}
