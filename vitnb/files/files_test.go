package files

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// blobServer serves payload with Range support at /blob; /redirect answers as Hugging Face does (the checksum on
// the redirect), /gcs as Google Cloud Storage (x-goog-hash md5). breakAfter > 0 makes a full request stop after
// that many bytes (a broken connection).
type blobServer struct {
	payload    []byte
	sha, md5   string
	breakAfter atomic.Int64
	served     atomic.Int64
}

func newBlob(n int) *blobServer {
	p := make([]byte, n)
	for i := range p {
		p[i] = byte(i*7 + i/251)
	}
	s, m := sha256.Sum256(p), md5.Sum(p)
	return &blobServer{payload: p, sha: hex.EncodeToString(s[:]), md5: hex.EncodeToString(m[:])}
}

func (b *blobServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/redirect":
		w.Header().Set("X-Linked-Etag", `"`+b.sha+`"`)
		w.Header().Set("X-Linked-Size", fmt.Sprint(len(b.payload)))
		http.Redirect(w, r, "/blob", http.StatusFound)
		return
	case "/gcs":
		raw, _ := hex.DecodeString(b.md5)
		w.Header().Set("X-Goog-Hash", "crc32c=AAAAAA==,md5="+base64.StdEncoding.EncodeToString(raw))
	case "/blob":
	default:
		http.NotFound(w, r)
		return
	}
	if n := b.breakAfter.Load(); n > 0 && r.Header.Get("Range") == "" {
		w.Header().Set("Content-Length", fmt.Sprint(len(b.payload)))
		_, _ = w.Write(b.payload[:n])
		b.served.Add(n)
		panic(http.ErrAbortHandler)
	}
	http.ServeContent(&countWriter{w, &b.served}, r, "blob", time.Time{}, bytes.NewReader(b.payload))
}

type countWriter struct {
	http.ResponseWriter
	n *atomic.Int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	c.n.Add(int64(len(p)))
	return c.ResponseWriter.Write(p)
}

func serve(t *testing.T, h http.Handler) string {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	if !strings.HasPrefix(srv.URL, "http://127.0.0.1") {
		t.Fatalf("test server at %s", srv.URL)
	}
	return srv.URL
}

func readOrEmpty(path string) []byte {
	b, _ := os.ReadFile(path)
	return b
}

func TestDownload(t *testing.T) {
	blob := newBlob(300_000)
	url := serve(t, blob)
	dir := t.TempDir()
	ctx := context.Background()

	// The server's checksums: Hugging Face's on the redirect, Google's md5; a progress line.
	for _, path := range []string{"/redirect", "/gcs"} {
		dest := filepath.Join(dir, strings.Trim(path, "/"))
		var bar bytes.Buffer
		if err := (&Downloader{Progress: &bar}).Download(ctx, url+path, dest, RemoteFile{}); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if !bytes.Equal(readOrEmpty(dest), blob.payload) || exists(dest+".part") {
			t.Errorf("%s: content differs or .part left", path)
		}
		if !strings.Contains(bar.String(), "100.0%") {
			t.Errorf("%s: progress %q", path, bar.String())
		}
		if err := CheckCached(dest, RemoteFile{}); err != nil {
			t.Errorf("%s: cached check: %v", path, err)
		}
	}

	// Resume: only the rest is served.
	d := &Downloader{}
	dest := filepath.Join(dir, "resumed")
	_ = os.WriteFile(dest+".part", blob.payload[:100_000], 0o644)
	blob.served.Store(0)
	if err := d.Download(ctx, url+"/blob", dest, RemoteFile{SHA256: blob.sha}); err != nil {
		t.Fatal(err)
	}
	if n := blob.served.Load(); n != 200_000 {
		t.Errorf("resume served %d bytes, want 200000", n)
	}
	if !bytes.Equal(readOrEmpty(dest), blob.payload) || exists(dest+".part") {
		t.Error("resumed content differs or .part left")
	}

	// A resumed tail on a foreign prefix: discarded and fetched again, never accepted.
	dest = filepath.Join(dir, "foreign")
	_ = os.WriteFile(dest+".part", bytes.Repeat([]byte{'x'}, 100_000), 0o644)
	if err := d.Download(ctx, url+"/blob", dest, RemoteFile{MD5: blob.md5}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(readOrEmpty(dest), blob.payload) {
		t.Error("foreign prefix accepted")
	}

	// A stale .part larger than the remote file, with and without a known size.
	for _, f := range []RemoteFile{{Size: 300_000}, {SHA256: blob.sha}, {}} {
		dest = filepath.Join(dir, fmt.Sprintf("stale-%d-%t", f.Size, f.SHA256 != ""))
		_ = os.WriteFile(dest+".part", append(append([]byte(nil), blob.payload...), "junk"...), 0o644)
		if err := d.Download(ctx, url+"/blob", dest, f); err != nil {
			t.Fatalf("stale .part %+v: %v", f, err)
		}
		if !bytes.Equal(readOrEmpty(dest), blob.payload) {
			t.Errorf("stale .part %+v accepted", f)
		}
	}

	// A complete .part (416 from the server) is verified and renamed.
	dest = filepath.Join(dir, "complete")
	_ = os.WriteFile(dest+".part", blob.payload, 0o644)
	blob.served.Store(0)
	if err := d.Download(ctx, url+"/blob", dest, RemoteFile{SHA256: blob.sha}); err != nil ||
		!bytes.Equal(readOrEmpty(dest), blob.payload) || blob.served.Load() > 100 { // 100: room for the 416 message
		t.Errorf("complete .part: %v (served %d)", err, blob.served.Load())
	}

	// A wrong checksum: error, nothing at dest, no .part.
	dest = filepath.Join(dir, "bad-sum")
	err := d.Download(ctx, url+"/blob", dest, RemoteFile{SHA256: strings.Repeat("0", 64)})
	if !errors.Is(err, ErrMismatch) || !strings.Contains(err.Error(), "sha256") || exists(dest) || exists(dest+".part") {
		t.Errorf("wrong checksum: %v", err)
	}
	// A wrong size, a format check that fails, a 404.
	if err := d.Download(ctx, url+"/blob", filepath.Join(dir, "bad-size"), RemoteFile{Size: 12}); !errors.Is(err,
		ErrMismatch) || !strings.Contains(err.Error(), "12") {
		t.Errorf("wrong size: %v", err)
	}
	bad := RemoteFile{Check: func(string) error { return errors.New("not a safetensors file") }}
	if err := d.Download(ctx, url+"/blob", filepath.Join(dir, "bad-format"), bad); !errors.Is(err, ErrMismatch) ||
		!strings.Contains(err.Error(), "not a safetensors file") || exists(filepath.Join(dir, "bad-format")) {
		t.Errorf("bad format: %v", err)
	}
	if err := d.Download(ctx, url+"/nothing", filepath.Join(dir, "none"), RemoteFile{}); err == nil ||
		!strings.Contains(err.Error(), "404") {
		t.Errorf("404: %v", err)
	}
}

// TestDownloadBroken cuts the connection half-way, then downloads again: the second call resumes; a cancelled
// context stops the transfer.
func TestDownloadBroken(t *testing.T) {
	blob := newBlob(200_000)
	blob.breakAfter.Store(50_000)
	url := serve(t, blob)
	dest := filepath.Join(t.TempDir(), "w.bin")
	d := &Downloader{}
	err := d.Download(context.Background(), url+"/blob", dest, RemoteFile{SHA256: blob.sha})
	if err == nil || !strings.Contains(err.Error(), "run again to resume") {
		t.Fatalf("broken transfer: %v", err)
	}
	if st, err := os.Stat(dest + ".part"); err != nil || st.Size() == 0 || exists(dest) {
		t.Fatalf("no partial file kept, or the part renamed: %v", err)
	}
	blob.breakAfter.Store(0)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := d.Download(ctx, url+"/blob", dest, RemoteFile{SHA256: blob.sha}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
	if err := d.Download(context.Background(), url+"/blob", dest, RemoteFile{SHA256: blob.sha}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(readOrEmpty(dest), blob.payload) {
		t.Error("content differs after resume")
	}
}

func TestCheckCached(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f.bin")
	content := []byte("vitnb cached file")
	m := md5.Sum(content)
	f := RemoteFile{MD5: hex.EncodeToString(m[:])}
	if err := os.WriteFile(path, content, 0o644); err != nil {
		t.Fatal(err)
	}
	// First read: hashed and stamped; then the stamp is enough.
	if err := CheckCached(path, f); err != nil || !exists(path+stampSuffix) {
		t.Fatalf("good file: %v", err)
	}
	if state, err := Verify(path, f); err != nil || state != "ok (md5)" {
		t.Errorf("verify: %q %v", state, err)
	}
	// Another content (the stamp no longer matches the modification time or size): one clear error.
	if err := os.WriteFile(path, []byte("vitnb cached fil!"), 0o644); err != nil {
		t.Fatal(err)
	}
	future := time.Now().Add(time.Hour)
	_ = os.Chtimes(path, future, future)
	err := CheckCached(path, f)
	if !errors.Is(err, ErrMismatch) || !strings.Contains(err.Error(), path) || strings.Contains(err.Error(), "\n") {
		t.Errorf("changed file: %v", err)
	}
	if err := CheckCached(path, RemoteFile{Size: 3}); !errors.Is(err, ErrMismatch) {
		t.Errorf("size: %v", err)
	}
	if err := CheckCached(path, RemoteFile{Check: func(string) error { return errors.New("bad header") }}); !errors.Is(
		err, ErrMismatch) || !strings.Contains(err.Error(), "bad header") {
		t.Errorf("format: %v", err)
	}
}

func TestWriteAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sub", "out.json")
	if err := WriteAtomic(path, func(w io.Writer) error { _, err := io.WriteString(w, "one"); return err }); err != nil {
		t.Fatal(err)
	}
	// A failing writer leaves the old content and no temporary file.
	err := WriteAtomic(path, func(w io.Writer) error {
		_, _ = io.WriteString(w, "half")
		return errors.New("disk full")
	})
	if err == nil || !strings.Contains(err.Error(), path) || string(readOrEmpty(path)) != "one" {
		t.Errorf("failed write: %v, content %q", err, readOrEmpty(path))
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("left behind: %v", entries)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o644 {
		t.Errorf("mode %v", st.Mode())
	}
}

func TestCacheDirs(t *testing.T) {
	t.Setenv(EnvCache, "/tmp/vc")
	t.Setenv(EnvDatasets, "")
	t.Setenv(EnvWeights, "")
	if DatasetsDir() != "/tmp/vc/datasets" || WeightsDir() != "/tmp/vc/weights" {
		t.Errorf("under VITNB_CACHE: %s %s", DatasetsDir(), WeightsDir())
	}
	t.Setenv(EnvDatasets, "/d")
	t.Setenv(EnvWeights, "/w")
	if DatasetsDir() != "/d" || WeightsDir() != "/w" {
		t.Errorf("overrides: %s %s", DatasetsDir(), WeightsDir())
	}
}

func TestWriteJSON(t *testing.T) {
	path := filepath.Join(t.TempDir(), "r.json")
	if err := WriteJSON(path, map[string]int{"a": 1}); err != nil {
		t.Fatal(err)
	}
	if got := string(readOrEmpty(path)); got != "{\n  \"a\": 1\n}\n" {
		t.Errorf("wrote %q", got)
	}
	if err := WriteJSON(path, func() {}); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("unencodable value: %v", err)
	}
}

// A cached file that grew after it was verified is refused, even when its format check still passes.
func TestCheckCachedGrown(t *testing.T) {
	path := filepath.Join(t.TempDir(), "w.bin")
	if err := os.WriteFile(path, []byte("weights"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := writeStamp(path, nil, false); err != nil {
		t.Fatal(err)
	}
	f := RemoteFile{Name: "w.bin", Check: func(string) error { return nil }}
	if err := CheckCached(path, f); err != nil {
		t.Fatalf("the verified file: %v", err)
	}
	fh, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fh.Write([]byte("appended")); err != nil {
		t.Fatal(err)
	}
	fh.Close()
	if err := CheckCached(path, f); !errors.Is(err, ErrMismatch) || !strings.Contains(err.Error(), "when it was downloaded") {
		t.Fatalf("a grown file: %v", err)
	}
}

// countingCheck is a format check that counts its calls: CheckCached runs it only when it hashes the file.
func countingCheck(n *int) func(string) error {
	return func(string) error { *n++; return nil }
}

// A file in a read-only folder (the Go module cache) is stamped in StampDir; an offline copy's file always is.
func TestStampAside(t *testing.T) {
	t.Setenv(EnvCache, t.TempDir())
	dir := t.TempDir()
	path := filepath.Join(dir, "f.bin")
	content := []byte("vitnb offline copy")
	m := md5.Sum(content)
	hashed := 0
	f := RemoteFile{MD5: hex.EncodeToString(m[:]), Check: countingCheck(&hashed)}
	if err := os.WriteFile(path, content, 0o444); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o555); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Chmod(dir, 0o755) })
	if HasStamp(path) {
		t.Fatal("stamped before any check")
	}
	if err := CheckCached(path, f); err != nil || hashed != 1 {
		t.Fatalf("first check: %v, hashed %d times", err, hashed)
	}
	if exists(path+stampSuffix) || !exists(sideStamp(path)) || !HasStamp(path) {
		t.Errorf("stamp beside %t, in %s %t", exists(path+stampSuffix), StampDir(), exists(sideStamp(path)))
	}
	if err := CheckCached(path, f); err != nil || hashed != 1 {
		t.Errorf("second check: %v, hashed %d times", err, hashed)
	}
	// The side stamp records the size and time: another content is hashed again and refused.
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("vitnb offline cop!"), 0o444); err != nil {
		t.Fatal(err)
	}
	future := time.Now().Add(time.Hour)
	_ = os.Chtimes(path, future, future)
	if err := CheckCached(path, f); !errors.Is(err, ErrMismatch) || hashed != 2 || !strings.Contains(err.Error(),
		"want "+f.MD5) {
		t.Errorf("changed file: %v, hashed %d times", err, hashed)
	}

	// An offline copy in a writable folder: stamped aside all the same.
	other := filepath.Join(t.TempDir(), "g.bin")
	if err := os.WriteFile(other, content, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := CheckOffline(other, f); err != nil || exists(other+stampSuffix) || !exists(sideStamp(other)) {
		t.Errorf("offline copy: %v, stamp beside %t", err, exists(other+stampSuffix))
	}
	if state, err := VerifyOffline(other, f); err != nil || state != "ok (md5)" || exists(other+stampSuffix) {
		t.Errorf("verify offline: %q %v", state, err)
	}
}

// A re-compressed .gz whose decompressed content matches RawMD5 is stamped, and then not decompressed again.
func TestStampRawMD5(t *testing.T) {
	t.Setenv(EnvCache, t.TempDir())
	path := filepath.Join(t.TempDir(), "x.gz")
	raw := bytes.Repeat([]byte("idx "), 1000)
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	_, _ = zw.Write(raw)
	_ = zw.Close()
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	m := md5.Sum(raw)
	hashed := 0
	f := RemoteFile{MD5: strings.Repeat("0", 32), RawMD5: hex.EncodeToString(m[:]), Check: countingCheck(&hashed)}
	if state, err := Verify(path, f); err != nil || state != "ok (md5 of the decompressed content)" || !HasStamp(path) {
		t.Fatalf("verify: %q %v, stamped %t", state, err, HasStamp(path))
	}
	hashed = 0
	if err := CheckCached(path, f); err != nil || hashed != 0 {
		t.Errorf("check of a stamped file: %v, hashed %d times", err, hashed)
	}
	// The stamp is for the RawMD5: a file that publishes another is checked again.
	g := f
	g.RawMD5 = strings.Repeat("1", 32)
	if err := CheckCached(path, g); !errors.Is(err, ErrMismatch) || hashed != 1 ||
		!strings.Contains(err.Error(), "md5 of the decompressed content "+f.RawMD5+", want "+g.RawMD5) ||
		!strings.Contains(err.Error(), "want "+f.MD5) {
		t.Errorf("another RawMD5: %v, hashed %d times", err, hashed)
	}
}

// WriteAtomic writes into a pipe or a device instead of renaming a regular file over it (`-o /dev/null` as root
// used to replace /dev/null; the test uses a pipe, not the machine's devices), and refuses a folder.
func TestWriteAtomicSpecialFiles(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skipf("no FIFOs here: %v", err)
	}
	got := make(chan []byte)
	go func() {
		data, _ := os.ReadFile(fifo)
		got <- data
	}()
	if err := WriteAtomic(fifo, func(w io.Writer) error { _, err := w.Write([]byte("hello")); return err }); err != nil {
		t.Fatal(err)
	}
	if data := <-got; string(data) != "hello" {
		t.Errorf("read %q from the pipe", data)
	}
	if st, err := os.Stat(fifo); err != nil || st.Mode()&os.ModeNamedPipe == 0 {
		t.Errorf("the pipe was replaced: %v %v", st.Mode(), err)
	}
	if err := WriteAtomic(dir, func(w io.Writer) error { return nil }); err == nil || !strings.Contains(err.Error(), "folder") {
		t.Errorf("writing over a folder: %v", err)
	}
}

// TestReadSidecar: a sidecar is read through a limit, whatever its size claims: a symbolic link to /dev/zero
// (Stat says 0 bytes, reading never ends) and a file over the limit are refused in one line naming them, a folder
// and a named pipe without being read; a small file reads whole and a missing one gives fs.ErrNotExist.
func TestReadSidecar(t *testing.T) {
	dir := t.TempDir()
	zero := filepath.Join(dir, "config.json")
	if err := os.Symlink("/dev/zero", zero); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "model.json")
	if err := os.WriteFile(big, make([]byte, MaxSidecarSize+1), 0o644); err != nil {
		t.Fatal(err)
	}
	pipe := filepath.Join(dir, "run.json")
	if err := syscall.Mkfifo(pipe, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{zero, big, dir, pipe} {
		data, err := ReadSidecar(p)
		if err == nil || data != nil || !strings.Contains(err.Error(), p) || strings.Contains(err.Error(), "\n") {
			t.Errorf("ReadSidecar(%s): %d bytes, %v", p, len(data), err)
		}
	}
	small := filepath.Join(dir, "preprocessor_config.json")
	if err := os.WriteFile(small, []byte(`{"size": 224}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if data, err := ReadSidecar(small); err != nil || string(data) != `{"size": 224}` {
		t.Errorf("ReadSidecar(small): %q, %v", data, err)
	}
	if _, err := ReadSidecar(filepath.Join(dir, "none.json")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("ReadSidecar(missing): %v", err)
	}
}

// TestDownloadEndless: a server that streams an endless config.json without a length (chunked) is cut off at the
// file's MaxSize while it streams, and the .part is removed, not kept "to resume" (before: it filled the disk).
func TestDownloadEndless(t *testing.T) {
	var sent atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		chunk := bytes.Repeat([]byte(" "), 64<<10)
		for sent.Load() < 1<<30 {
			if _, err := w.Write(chunk); err != nil {
				return
			}
			sent.Add(int64(len(chunk)))
		}
	}))
	defer srv.Close()
	dest := filepath.Join(t.TempDir(), "config.json")
	d := &Downloader{}
	err := d.Download(context.Background(), srv.URL+"/config.json", dest, RemoteFile{Name: "config.json", MaxSize: 1 << 20})
	if err == nil || !strings.Contains(err.Error(), "more than 1048576 bytes") || !errors.Is(err, ErrMismatch) {
		t.Fatalf("endless download: %v", err)
	}
	if exists(dest+".part") || exists(dest) {
		t.Error("the .part of an endless download was kept")
	}
	if n := sent.Load(); n > 64<<20 {
		t.Errorf("the server sent %d bytes before the client stopped", n)
	}
}

// TestDownloadDiskFull: a download of unknown size (no Content-Length, no size in the catalog, no MaxSize: the
// weights of a Hub mirror that says nothing) stops before it leaves less than DiskReserve free, and removes its
// .part, and one that announces more than the disk can take is refused before a byte is written: an endless
// model.safetensors wrote 9.2 GB in 20 s, kept "to resume".
func TestDownloadDiskFull(t *testing.T) {
	const free = DiskReserve + 8<<20 // what the fake disk has free before the download
	dest := filepath.Join(t.TempDir(), "model.safetensors")
	defer func(f func(string) (int64, bool)) { diskFree = f }(diskFree)
	diskFree = func(string) (int64, bool) {
		var used int64
		if st, err := os.Stat(dest + ".part"); err == nil {
			used = st.Size()
		}
		return free - used, true
	}
	var sent atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/announced" {
			w.Header().Set("Content-Length", strconv.Itoa(64<<20))
		}
		chunk := make([]byte, 64<<10)
		for sent.Load() < 64<<20 {
			if _, err := w.Write(chunk); err != nil {
				return
			}
			sent.Add(int64(len(chunk)))
		}
	}))
	defer srv.Close()
	d := &Downloader{}
	err := d.Download(context.Background(), srv.URL+"/endless", dest, RemoteFile{Name: "model.safetensors"})
	if err == nil || !strings.Contains(err.Error(), "free") {
		t.Errorf("endless download on a nearly full disk: got %v, want an error about the free space", err)
	}
	if exists(dest+".part") || exists(dest) {
		t.Error("the .part of a download stopped by a full disk was kept")
	}
	sent.Store(0)
	err = d.Download(context.Background(), srv.URL+"/announced", dest, RemoteFile{Name: "model.safetensors"})
	if err == nil || !strings.Contains(err.Error(), "free") {
		t.Errorf("64 MB announced on a disk with 8 MB to spare: got %v, want an error about the free space", err)
	}
	if exists(dest + ".part") {
		t.Error("a .part was written for a download that cannot fit")
	}
}

// TestWriteAtomicEmptyPath: an empty path is said as such; it was "rename ./...tmp123 : no such file or directory"
// after a temporary file had been made in the working folder.
func TestWriteAtomicEmptyPath(t *testing.T) {
	t.Chdir(t.TempDir())
	err := WriteAtomic("", func(w io.Writer) error { _, err := io.WriteString(w, "x"); return err })
	if err == nil || err.Error() != "writing: no file name (an empty path)" {
		t.Errorf("WriteAtomic(\"\"): %v", err)
	}
	if left, _ := filepath.Glob(".*tmp*"); len(left) > 0 {
		t.Errorf("left behind %v", left)
	}
}
