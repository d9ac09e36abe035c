package datasets

import (
	"bytes"
	"compress/gzip"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vitnb/vitnb/vitnb/files"
)

// idxSet is a small MNIST-like data set in the published layout: the four idx .gz files.
type idxSet struct {
	gz, raw map[string][]byte // By file name: the .gz as published, its decompressed content.
}

func newIDXSet(t *testing.T) idxSet {
	old := idxKnownDims // The loader accepts these small files for the test.
	idxKnownDims = map[string][]int{"train-images-idx3-ubyte": {6, 28, 28}, "train-labels-idx1-ubyte": {6},
		"t10k-images-idx3-ubyte": {3, 28, 28}, "t10k-labels-idx1-ubyte": {3}}
	t.Cleanup(func() { idxKnownDims = old })
	s := idxSet{gz: map[string][]byte{}, raw: map[string][]byte{}}
	for _, split := range []struct {
		images, labels string
		n              int
	}{{trainImagesGz, trainLabelsGz, 6}, {testImagesGz, testLabelsGz, 3}} {
		pix, labels := make([]byte, split.n*28*28), make([]byte, split.n)
		for i := range pix {
			pix[i] = byte(i % 251)
		}
		for i := range labels {
			labels[i] = byte(i % 10)
		}
		s.raw[split.images], s.raw[split.labels] = idxBytes([]int{split.n, 28, 28}, pix), idxBytes([]int{split.n}, labels)
	}
	for name, raw := range s.raw {
		s.gz[name] = gzipBytes(t, raw)
	}
	return s
}

// info is a data set publishing s (md5 of the .gz, RawMD5 of the content), read from offline when not "".
func (s idxSet) info(name, offline string) *Info {
	info := &Info{Name: name, Title: "test", load: loadIDXSet(mnistClasses)}
	for _, f := range []string{trainImagesGz, trainLabelsGz, testImagesGz, testLabelsGz} {
		gz, raw := md5.Sum(s.gz[f]), md5.Sum(s.raw[f])
		info.Files = append(info.Files, RemoteFile{Name: f, URL: "https://example.invalid/" + f,
			MD5: hex.EncodeToString(gz[:]), RawMD5: hex.EncodeToString(raw[:])})
	}
	if offline != "" {
		info.Offline = func() []string { return []string{offline} }
	}
	return info
}

// write puts the files in dir, the .gz as published or, with recompress, compressed again (another .gz, the same
// content: what Debian did to Fashion-MNIST).
func (s idxSet) write(t *testing.T, dir string, recompress bool) {
	for name, gz := range s.gz {
		if recompress {
			var b bytes.Buffer
			zw, _ := gzip.NewWriterLevel(&b, gzip.BestSpeed)
			zw.Name = name // Another header: other bytes.
			_, _ = zw.Write(s.raw[name])
			_ = zw.Close()
			if bytes.Equal(b.Bytes(), gz) {
				t.Fatal("recompressed file is the same")
			}
			gz = b.Bytes()
		}
		writeFile(t, filepath.Join(dir, name), gz)
	}
}

// registerTest registers info for the test.
func registerTest(t *testing.T, info *Info) {
	registry[info.Name] = info
	t.Cleanup(func() { delete(registry, info.Name) })
}

// stampFiles returns the stamp files in StampDir and beside the files of dir, by path, with their FileInfo (a
// file hashed again is stamped again: a new file).
func stampFiles(t *testing.T, dir string) map[string]os.FileInfo {
	out := map[string]os.FileInfo{}
	for _, pattern := range []string{filepath.Join(files.StampDir(), "*.json"), filepath.Join(dir, "*.verified")} {
		matches, _ := filepath.Glob(pattern)
		for _, m := range matches {
			if st, err := os.Stat(m); err == nil {
				out[m] = st
			}
		}
	}
	return out
}

// sameStamps fails unless the stamps are the same files as before: nothing was hashed again.
func sameStamps(t *testing.T, before, after map[string]os.FileInfo) {
	t.Helper()
	if len(after) != len(before) {
		t.Errorf("%d stamps, then %d", len(before), len(after))
	}
	for p, st := range before {
		if st2, ok := after[p]; !ok || !os.SameFile(st, st2) {
			t.Errorf("stamp %s written again: the file was hashed again", p)
		}
	}
}

// tamper rewrites the file name of s in dir as a readable file that is not the published one: its last value
// changed (a pixel, or a label to another class), compressed again; with a later modification time.
func (s idxSet) tamper(t *testing.T, dir, name string) string {
	raw := bytes.Clone(s.raw[name])
	raw[len(raw)-1] ^= 1
	path := filepath.Join(dir, name)
	writeFile(t, path, gzipBytes(t, raw))
	future := time.Now().Add(time.Minute)
	_ = os.Chtimes(path, future, future)
	return path
}

// TestLoadChecksHandPlaced: a file put in the cache folder by hand, never verified, is hashed when the data set is
// loaded: a wrong one is refused with one line naming it (kept as a warning with KeepMismatched); a good one is
// stamped, and the next load does not hash it again.
func TestLoadChecksHandPlaced(t *testing.T) {
	t.Setenv(files.EnvCache, t.TempDir())
	cache := t.TempDir()
	s := newIDXSet(t)
	info := s.info("tiny-idx", "")
	registerTest(t, info)
	dir := info.CacheDir(cache)
	s.write(t, dir, false)
	bad := s.tamper(t, dir, trainLabelsGz)

	_, err := Load(info.Name, Options{Dir: cache})
	if !errors.Is(err, files.ErrMismatch) || strings.Contains(err.Error(), "\n") {
		t.Fatalf("wrong file: %v", err)
	}
	for _, want := range []string{"tiny-idx: ", bad, "want " + info.Files[1].MD5, "delete it and run `vit data get tiny-idx`"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message lacks %q: %v", want, err)
		}
	}
	if files.HasStamp(bad) {
		t.Error("a wrong file was stamped")
	}
	ds, err := Load(info.Name, Options{Dir: cache, KeepMismatched: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(ds.Warnings) != 1 || !strings.Contains(ds.Warnings[0], bad) || !strings.Contains(ds.Warnings[0], "MISMATCH") {
		t.Errorf("warnings %q", ds.Warnings)
	}

	// With KeepMismatched, a wrong file that does not even read: the error is the mismatch, which says why.
	writeFile(t, bad, []byte("not gzip"))
	if _, err := Load(info.Name, Options{Dir: cache, KeepMismatched: true}); !errors.Is(err, files.ErrMismatch) ||
		!strings.Contains(err.Error(), bad) {
		t.Errorf("unreadable wrong file: %v", err)
	}

	s.write(t, dir, false)
	if _, err := Load(info.Name, Options{Dir: cache}); err != nil {
		t.Fatal(err)
	}
	for _, f := range info.Files {
		if p := filepath.Join(dir, f.Name); !exists(p + ".verified") {
			t.Errorf("%s not stamped beside", p)
		}
	}
	before := stampFiles(t, dir)
	if _, err := Load(info.Name, Options{Dir: cache}); err != nil {
		t.Fatal(err)
	}
	sameStamps(t, before, stampFiles(t, dir))
	// Changed after it was verified: hashed again and refused.
	s.tamper(t, dir, trainLabelsGz)
	if _, err := Load(info.Name, Options{Dir: cache}); !errors.Is(err, files.ErrMismatch) || !strings.Contains(err.Error(), bad) {
		t.Errorf("file changed after its stamp: %v", err)
	}
}

// readOnly makes dir read-only (as the Go module cache is) while f runs.
func readOnly(t *testing.T, dir string, f func()) {
	if err := os.Chmod(dir, 0o555); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = os.Chmod(dir, 0o755) }()
	f()
}

// TestLoadChecksOfflineCopy: the files of an offline copy in a read-only folder are checked: the published ones are
// stamped in vitnb's cache (nothing is written in the copy) and not hashed again; a wrong one is refused with one
// line saying that the offline copy is not the published file and what to do.
func TestLoadChecksOfflineCopy(t *testing.T) {
	t.Setenv(files.EnvCache, t.TempDir())
	s := newIDXSet(t)
	offline := filepath.Join(t.TempDir(), "offline")
	info := s.info("tiny-idx", offline)
	registerTest(t, info)
	s.write(t, offline, false)
	bad := s.tamper(t, offline, testImagesGz)
	cache := t.TempDir()

	readOnly(t, offline, func() {
		_, err := Load(info.Name, Options{Dir: cache})
		if !errors.Is(err, files.ErrMismatch) || strings.Contains(err.Error(), "\n") {
			t.Fatalf("wrong offline file: %v", err)
		}
		for _, want := range []string{"tiny-idx: ", bad, "want " + info.Files[2].MD5, "want " + info.Files[2].RawMD5,
			"offline copy that is not the published file", "remove it and run `vit data get tiny-idx`"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("message lacks %q: %v", want, err)
			}
		}
		ds, err := Load(info.Name, Options{Dir: cache, KeepMismatched: true})
		if err != nil {
			t.Fatal(err)
		}
		if len(ds.Warnings) != 1 || !strings.Contains(ds.Warnings[0], bad) {
			t.Errorf("warnings %q", ds.Warnings)
		}
		states, err := Verify(info, offline)
		if err != nil || len(states) != 4 || !states[2].Mismatch || !states[0].OK {
			t.Errorf("verify: %v %+v", err, states)
		}
	})

	s.write(t, offline, false)
	readOnly(t, offline, func() {
		ds, err := Load(info.Name, Options{Dir: cache})
		if err != nil || !strings.HasPrefix(ds.Origin, "offline copy") {
			t.Fatalf("good offline copy: %v", err)
		}
		entries, _ := os.ReadDir(offline)
		if len(entries) != 4 {
			t.Errorf("the offline copy was written into: %v", entries)
		}
		for _, f := range info.Files {
			if !files.HasStamp(filepath.Join(offline, f.Name)) {
				t.Errorf("%s not stamped", f.Name)
			}
		}
		before := stampFiles(t, offline)
		if len(before) != 4 {
			t.Errorf("stamps %v", before)
		}
		if _, err := Load(info.Name, Options{Dir: cache}); err != nil {
			t.Fatal(err)
		}
		sameStamps(t, before, stampFiles(t, offline))
	})
	// Changed after it was verified.
	s.tamper(t, offline, testImagesGz)
	readOnly(t, offline, func() {
		if _, err := Load(info.Name, Options{Dir: cache}); !errors.Is(err, files.ErrMismatch) ||
			!strings.Contains(err.Error(), bad) || !strings.Contains(err.Error(), "offline copy") {
			t.Errorf("offline file changed after its stamp: %v", err)
		}
	})
}

// TestLoadRawMD5Stamped: a re-compressed offline copy (Debian's Fashion-MNIST) matches by the md5 of its content,
// is stamped for it, and the next load does not decompress it again.
func TestLoadRawMD5Stamped(t *testing.T) {
	t.Setenv(files.EnvCache, t.TempDir())
	s := newIDXSet(t)
	offline := filepath.Join(t.TempDir(), "debian")
	info := s.info("tiny-idx", offline)
	registerTest(t, info)
	s.write(t, offline, true)
	cache := t.TempDir()
	if _, err := Load(info.Name, Options{Dir: cache}); err != nil {
		t.Fatal(err)
	}
	before := stampFiles(t, offline)
	if len(before) != 4 {
		t.Fatalf("stamps %v", before)
	}
	for p := range before {
		if data, _ := os.ReadFile(p); !strings.Contains(string(data), `"md5 of the decompressed content"`) ||
			!strings.HasPrefix(p, files.StampDir()) {
			t.Errorf("stamp %s: %s", p, data)
		}
	}
	if _, err := Load(info.Name, Options{Dir: cache}); err != nil {
		t.Fatal(err)
	}
	sameStamps(t, before, stampFiles(t, offline))
	states, err := Verify(info, offline)
	if err != nil || states[0].State != "ok (md5 of the decompressed content)" {
		t.Errorf("verify: %v %+v", err, states)
	}
}

// TestOfflineFix: what the message says to do with a bad offline copy.
func TestOfflineFix(t *testing.T) {
	fashion, _ := Lookup("fashion-mnist")
	mnist, _ := Lookup("mnist")
	if got := fashion.offlineFix(FashionMNISTDebianDir); !strings.Contains(got, "apt-get install --reinstall "+
		"dataset-fashion-mnist") || !strings.Contains(got, "vit data get fashion-mnist") {
		t.Errorf("debian: %s", got)
	}
	if got := mnist.offlineFix(GoMNISTDirs()[0]); !strings.Contains(got, "go clean -modcache") {
		t.Errorf("go module: %s", got)
	}
}
