package files

import (
	"compress/gzip"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
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
}

// writeStamp records that path was verified (with sum, nil when only its size and format were checked).
func writeStamp(path string, sum *checksum) error {
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	s := stamp{Size: st.Size(), ModTime: st.ModTime().UnixNano()}
	if sum != nil {
		s.Algo, s.Hex = sum.Algo, sum.Hex
	}
	data, err := json.Marshal(s)
	if err != nil {
		return err
	}
	return WriteAtomic(path+stampSuffix, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// HasStamp tells whether path was verified once (by Download or Verify): CheckCached then rechecks it cheaply.
func HasStamp(path string) bool {
	_, err := os.Stat(path + stampSuffix)
	return err == nil
}

// stampValid tells whether path carries a stamp that matches its size and modification time and, when f publishes
// checksums, one of them.
func stampValid(path string, st os.FileInfo, f RemoteFile) bool {
	data, err := os.ReadFile(path + stampSuffix)
	if err != nil {
		return false
	}
	var s stamp
	if json.Unmarshal(data, &s) != nil || s.Size != st.Size() || s.ModTime != st.ModTime().UnixNano() {
		return false
	}
	switch {
	case f.SHA256 != "":
		return s.Algo == "sha256" && s.Hex == f.SHA256
	case f.MD5 != "":
		return s.Algo == "md5" && s.Hex == f.MD5
	}
	return true
}

// CheckCached checks a file read from the cache, cheaply: its size against f.Size, then a valid stamp written when
// it was verified (same size and modification time) is enough; without one, the format check (f.Check) runs and
// the published checksums are computed once (the file is stamped when they match). The error wraps ErrMismatch
// when the file is not the published one, and names the file.
func CheckCached(path string, f RemoteFile) error {
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
	if data, err := os.ReadFile(path + stampSuffix); err == nil {
		var s stamp
		if json.Unmarshal(data, &s) == nil && s.Size != st.Size() {
			return fmt.Errorf("%s: %d bytes, but %d when it was downloaded and verified: %w", path, st.Size(), s.Size, ErrMismatch)
		}
	}
	if f.Check != nil {
		if err := f.Check(path); err != nil {
			return fmt.Errorf("%s: %w: %w", path, ErrMismatch, err)
		}
	}
	if f.SHA256 == "" && f.MD5 == "" && f.RawMD5 == "" {
		return nil
	}
	_, err = Verify(path, f)
	return err
}

// Verify checks a file completely against what f publishes: size, md5 and sha256 (or the md5 of the decompressed
// content of a .gz, RawMD5, which also identifies re-compressed copies) and format. It returns a state for
// messages ("ok (md5)", "ok (sha256)", "ok (md5 of the decompressed content)", "no published checksum (md5 ...)")
// and stamps the file when a checksum matched. A file that does not match gives an error wrapping ErrMismatch.
func Verify(path string, f RemoteFile) (state string, err error) {
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
	case f.RawMD5 != "" && rawMD5(path) == f.RawMD5:
		return "ok (md5 of the decompressed content)", nil
	default:
		want, algo := f.MD5, "md5"
		if want == "" && f.SHA256 != "" {
			want, algo = f.SHA256, "sha256"
		} else if want == "" {
			want, algo = f.RawMD5, "md5 of the decompressed content"
		}
		return "", fmt.Errorf("%s: %w: %s %s, want %s", path, ErrMismatch, algo, got[algoKey(algo)], want)
	}
	_ = writeStamp(path, sum) // Best effort: an offline copy in a read-only folder cannot hold one.
	return state, nil
}

// algoKey maps the name of a checksum in messages to its key in digests' result.
func algoKey(algo string) string {
	if algo == "sha256" {
		return "sha256"
	}
	return "md5"
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
