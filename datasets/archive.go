package datasets

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// Sizes of what the data sets' archives hold, from their formats, so that a member or a stream that claims more
// is refused before anything is allocated for it.
const (
	// cifar10Batch is a CIFAR-10 batch file: 10,000 records of a label byte and 32x32x3 pixels.
	cifar10Batch = 10000 * (1 + 3072)
	// cifar100Train is CIFAR-100's train.bin: 50,000 records of two label bytes and 32x32x3 pixels; test.bin has
	// 10,000. It is the largest member read into memory.
	cifar100Train = 50000 * (2 + 3072)
	// maxTarMember bounds any other member read into memory.
	maxTarMember = cifar100Train
	// maxExtractMember and maxExtractTotal bound the archives extracted to disk (Pets' images.tar.gz, about
	// 790 MB of JPEGs, and Flowers' 102flowers.tgz, about 330 MB): no photo in them is near 64 MiB, and JPEGs do
	// not compress, so twice the larger archive is far above what they hold.
	maxExtractMember = 64 << 20
	maxExtractTotal  = 2 << 30
)

// memberLimits are the sizes of the CIFAR members read into memory (a test may write smaller ones).
var memberLimits = map[string]int64{
	"cifar-10-batches-bin/data_batch_1.bin": cifar10Batch, "cifar-10-batches-bin/data_batch_2.bin": cifar10Batch,
	"cifar-10-batches-bin/data_batch_3.bin": cifar10Batch, "cifar-10-batches-bin/data_batch_4.bin": cifar10Batch,
	"cifar-10-batches-bin/data_batch_5.bin": cifar10Batch, "cifar-10-batches-bin/test_batch.bin": cifar10Batch,
	"cifar-100-binary/train.bin": cifar100Train, "cifar-100-binary/test.bin": 10000 * (2 + 3072),
}

// readAtMost reads r to its end, refusing (with an error naming name) a stream longer than limit bytes: at most
// limit+1 bytes are ever held.
func readAtMost(r io.Reader, limit int64, name string, sizeHint int64) ([]byte, error) {
	buf := bytes.NewBuffer(make([]byte, 0, min(max(sizeHint, 0), limit)+1))
	if _, err := buf.ReadFrom(io.LimitReader(r, limit+1)); err != nil {
		return nil, fmt.Errorf("%s: decompressing (file truncated or corrupt?): %w", name, err)
	}
	if int64(buf.Len()) > limit {
		return nil, fmt.Errorf("%s: decompresses to more than %d bytes, more than the data set's file can hold "+
			"(corrupt, or not the published file)", name, limit)
	}
	return buf.Bytes(), nil
}

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
		limit, ok := memberLimits[name]
		if !ok {
			limit = maxTarMember
		}
		if h.Size > limit {
			return nil, fmt.Errorf("%s: member %s claims %d bytes, the data set's file has at most %d (corrupt, or "+
				"not the published archive)", archive, name, h.Size, limit)
		}
		b := make([]byte, h.Size)
		if _, err := io.ReadFull(tr, b); err != nil {
			return nil, fmt.Errorf("%s: member %s truncated: %w", archive, name, err)
		}
		out[name] = b
	}
}

// extractPrefix starts the name of the temporary folder of an extraction, followed by the PID of the process.
const extractPrefix = ".extract-"

// removeStaleExtractions removes the temporary folders that interrupted extractions left in dir: those of
// processes that no longer run.
func removeStaleExtractions(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil // Nothing there yet.
	}
	for _, e := range entries {
		rest, ok := strings.CutPrefix(e.Name(), extractPrefix)
		if !ok || !e.IsDir() {
			continue
		}
		if pidText, _, ok := strings.Cut(rest, "-"); ok {
			if pid, err := strconv.Atoi(pidText); err == nil && processRuns(pid) {
				continue // Another extraction in progress.
			}
		}
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			return fmt.Errorf("removing what an interrupted extraction left in %s: %w", dir, err)
		}
	}
	return nil
}

// processRuns tells whether a process of that PID runs (signal 0 checks without sending anything).
func processRuns(pid int) bool {
	if pid <= 0 {
		return false
	}
	p, err := os.FindProcess(pid)
	if err != nil {
		return false
	}
	err = p.Signal(syscall.Signal(0))
	return err == nil || errors.Is(err, syscall.EPERM)
}

// extractTar extracts the archive into dir. It writes into a temporary folder inside dir first and moves each
// top-level entry into place only once the whole archive has been read, so an interrupted extraction leaves no
// half-filled folder behind; what an earlier interrupted run left is removed first. Top-level entries that
// already exist in dir are kept. Members larger than maxExtractMember, or more than maxExtractTotal bytes in all,
// are refused before they are written.
func extractTar(archive, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("creating %s: %w", dir, err)
	}
	if err := removeStaleExtractions(dir); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(dir, fmt.Sprintf("%s%d-", extractPrefix, os.Getpid()))
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
	var total int64
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
			total += h.Size
			if h.Size > maxExtractMember || total > maxExtractTotal {
				return fmt.Errorf("%s: member %s claims %d bytes (%d in all so far), more than the data set's "+
					"files hold (%d each, %d in all): corrupt, or not the published archive", archive, name, h.Size,
					total, maxExtractMember, maxExtractTotal)
			}
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
