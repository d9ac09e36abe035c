package files

import (
	"compress/gzip"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// stampSuffix names the file beside a verified download that records what was verified, so that a later read
// of the cache checks the size and modification time instead of hashing the file again.
const stampSuffix = ".verified"

// stamp is the content of a .verified file.
type stamp struct {
	Size    int64  `json:"size"`
	ModTime int64  `json:"mtime_ns"`
	Algo    string `json:"algo,omitempty"`
	Hex     string `json:"hex,omitempty"`
	// Path is the verified file, in a stamp of the side folder (StampDir).
	Path string `json:"path,omitempty"`
}

// algoRawMD5 is the Algo of a stamp for a file whose decompressed content matched RemoteFile.RawMD5.
const algoRawMD5 = "md5 of the decompressed content"

// StampDir is the side folder of stamps, for files whose folder vitnb cannot or must not write into (an offline
// copy in the Go module cache or a system package's folder): CacheRoot()/verified.
func StampDir() string { return filepath.Join(CacheRoot(), "verified") }

// sideStamp is the stamp of path in StampDir: the hex sha256 of its absolute path, .json.
func sideStamp(path string) string {
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	h := sha256.Sum256([]byte(path))
	return filepath.Join(StampDir(), hex.EncodeToString(h[:])+".json")
}

// writeStamp records that path was verified (with sum, nil when only its size and format were checked): beside it
// (PATH.verified) unless aside or its folder is read-only (no write permission bit) or refuses the write, else in
// StampDir.
func writeStamp(path string, sum *checksum, aside bool) error {
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	s := stamp{Size: st.Size(), ModTime: st.ModTime().UnixNano()}
	if sum != nil {
		s.Algo, s.Hex = sum.Algo, sum.Hex
	}
	write := func(dest string, s stamp) error {
		data, err := json.Marshal(s)
		if err != nil {
			return err
		}
		return WriteAtomic(dest, func(w io.Writer) error {
			_, err := w.Write(data)
			return err
		})
	}
	// Root may write in a folder without write permission: the bits decide, so that read-only folders (the Go
	// module cache) are left as they are.
	if dir, err := os.Stat(filepath.Dir(path)); !aside && err == nil && dir.Mode().Perm()&0o222 != 0 {
		if err := write(path+stampSuffix, s); err == nil {
			return nil
		}
	}
	if err := CheckCache(StampDir()); err != nil {
		return err
	}
	s.Path, _ = filepath.Abs(path)
	return write(sideStamp(path), s)
}

// readStamps returns the stamps of path: beside it, then in StampDir.
func readStamps(path string) []stamp {
	var out []stamp
	paths := []string{path + stampSuffix}
	if CheckCache(StampDir()) == nil { // stamps in a folder that others may write say nothing
		paths = append(paths, sideStamp(path))
	}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		var s stamp
		if json.Unmarshal(data, &s) == nil {
			out = append(out, s)
		}
	}
	return out
}

// HasStamp tells whether path was verified once (by Download or Verify), its stamp beside it or in StampDir:
// CheckCached then rechecks it cheaply.
func HasStamp(path string) bool {
	return exists(path+stampSuffix) || (CheckCache(StampDir()) == nil && exists(sideStamp(path)))
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// stampValid tells whether path carries a stamp (beside it or in StampDir) that matches its size and modification
// time and, when f publishes checksums, one of them (the sha256 when published, else the md5; or the md5 of the
// decompressed content, RawMD5).
func stampValid(path string, st os.FileInfo, f RemoteFile) bool {
	for _, s := range readStamps(path) {
		if s.Size != st.Size() || s.ModTime != st.ModTime().UnixNano() {
			continue
		}
		switch {
		case f.RawMD5 != "" && s.Algo == algoRawMD5 && s.Hex == f.RawMD5:
			return true
		case f.SHA256 != "":
			if s.Algo == "sha256" && s.Hex == f.SHA256 {
				return true
			}
		case f.MD5 != "":
			if s.Algo == "md5" && s.Hex == f.MD5 {
				return true
			}
		case f.RawMD5 == "":
			return true
		}
	}
	return false
}

// CheckCached checks a file read from the cache, cheaply: its size against f.Size, then a valid stamp written when
// it was verified (same size and modification time) is enough; without one, the format check (f.Check) runs and
// the published checksums are computed once (the file is stamped when they match, see Verify). The error wraps
// ErrMismatch when the file is not the published one, and names the file.
func CheckCached(path string, f RemoteFile) error { return checkCached(path, f, false) }

// CheckOffline is CheckCached for a file of an offline copy that vitnb must leave as installed (a system
// package's folder, a module in the Go module cache, whose `go mod verify` would see an added file): its stamp is
// kept in StampDir, never beside it.
func CheckOffline(path string, f RemoteFile) error { return checkCached(path, f, true) }

func checkCached(path string, f RemoteFile, aside bool) error {
	if err := CheckCache(path); err != nil {
		return err
	}
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	if f.Size > 0 && st.Size() != f.Size {
		return fmt.Errorf("%s: %d bytes, want %d: %w", path, st.Size(), f.Size, ErrMismatch)
	}
	if stampValid(path, st, f) {
		return nil
	}
	// A file whose size changed since it was downloaded and verified is not that file any more, whatever its format
	// says (bytes appended to a zip still read as a zip).
	if stamps := readStamps(path); len(stamps) > 0 && stamps[0].Size != st.Size() {
		return fmt.Errorf("%s: %d bytes, but %d when it was downloaded and verified: %w", path, st.Size(),
			stamps[0].Size, ErrMismatch)
	}
	if f.SHA256 != "" || f.MD5 != "" || f.RawMD5 != "" {
		_, err = verifyFile(path, f, aside) // Also runs f.Check.
		return err
	}
	if f.Check != nil {
		if err := f.Check(path); err != nil {
			return fmt.Errorf("%s: %w: %w", path, ErrMismatch, err)
		}
	}
	return nil
}

// Verify checks a file completely against what f publishes: size, md5 and sha256 (or the md5 of the decompressed
// content of a .gz, RawMD5, which also identifies re-compressed copies) and format. It returns a state for
// messages ("ok (md5)", "ok (sha256)", "ok (md5 of the decompressed content)", "no published checksum (md5 ...)")
// and stamps the file when a checksum matched (beside it, or in StampDir when its folder is read-only), so that
// CheckCached does not hash it again. A file that does not match gives an error wrapping ErrMismatch, with the
// checksums found and wanted.
func Verify(path string, f RemoteFile) (state string, err error) { return verifyFile(path, f, false) }

// VerifyOffline is Verify for a file of an offline copy: its stamp is kept in StampDir (see CheckOffline).
func VerifyOffline(path string, f RemoteFile) (state string, err error) {
	return verifyFile(path, f, true)
}

func verifyFile(path string, f RemoteFile, aside bool) (state string, err error) {
	if err := CheckCache(path); err != nil {
		return "", err
	}
	st, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	if f.Size > 0 && st.Size() != f.Size {
		return "", fmt.Errorf("%s: %d bytes, want %d: %w", path, st.Size(), f.Size, ErrMismatch)
	}
	if f.Check != nil {
		if err := f.Check(path); err != nil {
			return "", fmt.Errorf("%s: %w: %w", path, ErrMismatch, err)
		}
	}
	got, err := digests(path)
	if err != nil {
		return "", err
	}
	var sum *checksum
	switch {
	case f.SHA256 != "" && got["sha256"] == f.SHA256:
		sum, state = &checksum{Algo: "sha256", Hex: f.SHA256}, "ok (sha256)"
	case f.MD5 != "" && got["md5"] == f.MD5:
		sum, state = &checksum{Algo: "md5", Hex: f.MD5}, "ok (md5)"
	case f.MD5 == "" && f.SHA256 == "" && f.RawMD5 == "":
		return "no published checksum (md5 " + got["md5"] + ")", nil
	}
	if sum == nil {
		var raw string
		if f.RawMD5 != "" {
			if raw = rawMD5(path); raw == f.RawMD5 {
				sum, state = &checksum{Algo: algoRawMD5, Hex: f.RawMD5}, "ok ("+algoRawMD5+")"
			}
		}
		if sum == nil {
			var found []string
			switch {
			case f.MD5 != "":
				found = append(found, fmt.Sprintf("md5 %s, want %s", got["md5"], f.MD5))
			case f.SHA256 != "":
				found = append(found, fmt.Sprintf("sha256 %s, want %s", got["sha256"], f.SHA256))
			}
			if f.RawMD5 != "" {
				if raw == "" {
					raw = "none (not a readable gzip file)"
				}
				found = append(found, fmt.Sprintf("%s %s, want %s", algoRawMD5, raw, f.RawMD5))
			}
			return "", fmt.Errorf("%s: %w: %s", path, ErrMismatch, strings.Join(found, "; "))
		}
	}
	// Best effort: a file that cannot be stamped is hashed again next time.
	_ = writeStamp(path, sum, aside)
	return state, nil
}

// rawMD5 is the md5 of the decompressed content of a gzip file, "" when it is not one or is corrupt.
func rawMD5(path string) string {
	fh, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer func() { _ = fh.Close() }()
	zr, err := gzip.NewReader(fh)
	if err != nil {
		return ""
	}
	h := md5.New()
	if _, err := io.Copy(h, zr); err != nil {
		return ""
	}
	return hex.EncodeToString(h.Sum(nil))
}
