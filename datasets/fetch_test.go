package datasets

import (
	"archive/tar"
	"bytes"
	"compress/flate"
	"context"
	"crypto/md5"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vitnb/vitnb/datasets/datasetstest"
	"github.com/vitnb/vitnb/vitnb/files"
)

func TestFetch(t *testing.T) {
	content := []byte(strings.Repeat("vitnb data ", 5000))
	sum := md5.Sum(content)
	wantMD5 := hex.EncodeToString(sum[:])
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.ServeContent(w, r, "f", time.Time{}, bytes.NewReader(content))
	}))
	defer srv.Close()
	if !strings.HasPrefix(srv.URL, "http://127.0.0.1") {
		t.Fatalf("test server at %s", srv.URL)
	}
	dir := t.TempDir()
	info := &Info{Name: "tiny", Files: []RemoteFile{{Name: "file.bin", URL: srv.URL, MD5: wantMD5}}}
	var bar strings.Builder
	got, origin, err := Fetch(context.Background(), info, dir, &files.Downloader{Progress: &bar})
	if err != nil || got != filepath.Join(dir, "tiny") || !strings.HasPrefix(origin, "cache folder") {
		t.Fatalf("fetch: %v %s %s", err, got, origin)
	}
	if !strings.Contains(bar.String(), "100.0%") {
		t.Errorf("no progress: %q", bar.String())
	}
	states, err := Verify(info, got)
	if err != nil || len(states) != 1 || !states[0].OK || states[0].State != "ok (md5)" {
		t.Errorf("verify: %v %+v", err, states)
	}
	if bad, err := info.check(got, false); err != nil || len(bad) != 0 {
		t.Errorf("cached check of a good file: %v %v", err, bad)
	}

	// The cached file changes (same size, another content): the cheap check sees it; one line naming the file.
	path := filepath.Join(got, "file.bin")
	bad := bytes.ToUpper(content)
	writeFile(t, path, bad)
	future := time.Now().Add(time.Minute)
	_ = os.Chtimes(path, future, future)
	mism, err := info.check(got, false)
	if err != nil || len(mism) != 1 {
		t.Fatalf("changed file: %v %v", err, mism)
	}
	err = mism[0]
	if !errors.Is(err, files.ErrMismatch) || !strings.Contains(err.Error(), path) ||
		!strings.Contains(err.Error(), "vit data get tiny") || strings.Contains(err.Error(), "\n") {
		t.Errorf("changed file: %v", err)
	}
	states, _ = Verify(info, got)
	if len(states) != 1 || states[0].OK || !states[0].Mismatch || !strings.HasPrefix(states[0].State, "MISMATCH") {
		t.Errorf("verify of a bad file: %+v", states)
	}
	// Fetch replaces it.
	if _, _, err := Fetch(context.Background(), info, dir, &files.Downloader{}); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); !bytes.Equal(b, content) {
		t.Error("bad cached file not replaced")
	}
}

// TestFetchOffline: the message names the address that failed, the file to download and where to put it.
func TestFetchOffline(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL + "/cifar-10-binary.tar.gz"
	srv.Close() // Nothing listens there any more.
	dir := t.TempDir()
	info := &Info{Name: "tiny", Files: []RemoteFile{{Name: "cifar-10-binary.tar.gz", URL: url, MD5: "abc"}}}
	_, _, err := Fetch(context.Background(), info, dir, &files.Downloader{})
	want := filepath.Join(dir, "tiny", "cifar-10-binary.tar.gz")
	for _, s := range []string{url, want, "put it at"} {
		if err == nil || !strings.Contains(err.Error(), s) {
			t.Errorf("offline message lacks %q: %v", s, err)
		}
	}
}

func TestFetchManual(t *testing.T) {
	info, err := Lookup("imagenet")
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = Fetch(t.Context(), info, t.TempDir(), &files.Downloader{})
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "image-net.org") {
		t.Errorf("imagenet fetch: %v", err)
	}
}

// zerosGzip writes a gzip file holding prefix then n zero bytes, quickly: the deflate blocks that encode 1 MiB of
// zeros after a window of zeros are the same every time, so they are made once and repeated.
func zerosGzip(t *testing.T, path string, prefix []byte, n int64) {
	t.Helper()
	const chunk = 1 << 20
	zeros := make([]byte, chunk)
	var b bytes.Buffer
	b.Write([]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff}) // Gzip header: deflate, no flags, unknown OS.
	fw, err := flate.NewWriter(&b, flate.BestSpeed)
	if err != nil {
		t.Fatal(err)
	}
	crc := crc32.ChecksumIEEE(prefix)
	_, _ = fw.Write(prefix)
	_, _ = fw.Write(zeros) // First chunk: fills the window with zeros.
	_ = fw.Flush()
	start := b.Len()
	_, _ = fw.Write(zeros)
	_ = fw.Flush()
	block := append([]byte(nil), b.Bytes()[start:]...)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	_, _ = f.Write(b.Bytes())
	for range n/chunk - 2 {
		_, _ = f.Write(block)
	}
	b.Reset()
	_ = fw.Close() // Final empty block.
	_, _ = f.Write(b.Bytes())
	for range n / chunk {
		crc = crc32.Update(crc, crc32.IEEETable, zeros)
	}
	var trailer [8]byte
	binary.LittleEndian.PutUint32(trailer[:4], crc)
	binary.LittleEndian.PutUint32(trailer[4:], uint32(int64(len(prefix))+n))
	if _, err := f.Write(trailer[:]); err != nil {
		t.Fatal(err)
	}
}

// TestBombs: a gzip file of 1 GiB of zeros where an idx file is expected, and a CIFAR archive whose member holds
// 1 GiB, are refused from what the data set's files should be, without allocating for them.
func TestBombs(t *testing.T) {
	const gib = 1 << 30
	dir := t.TempDir()
	idx := filepath.Join(dir, "train-images-idx3-ubyte.gz")
	zerosGzip(t, idx, idxBytes([]int{60000, 28, 28}, nil), gib)
	var err error
	n := datasetstest.Allocated(func() { _, err = ReadIDXFile(idx) })
	if err == nil || !strings.Contains(err.Error(), idx) || !strings.Contains(err.Error(), "more data than") {
		t.Errorf("gzip bomb: %v", err)
	}
	if n > 64<<20 {
		t.Errorf("gzip bomb allocated %d MB", n>>20)
	}
	t.Logf("gzip bomb: %d KB allocated", n>>10)
	// The same with a trailer that lies: stopped once the content passes the limit.
	raw, _ := os.ReadFile(idx)
	binary.LittleEndian.PutUint32(raw[len(raw)-4:], 1000)
	writeFile(t, idx, raw)
	n = datasetstest.Allocated(func() { _, err = ReadIDXFile(idx) })
	if err == nil || !strings.Contains(err.Error(), "more data than") {
		t.Errorf("gzip bomb with a lying trailer: %v", err)
	}
	if n > 4*(16+60000*28*28) { // four times MNIST's largest file
		t.Errorf("gzip bomb with a lying trailer allocated %d MB", n>>20)
	}
	t.Logf("gzip bomb with a lying trailer: %d MB allocated", n>>20)

	// A CIFAR archive whose first batch is 1 GiB of zeros.
	var hdr bytes.Buffer
	tw := tar.NewWriter(&hdr)
	_ = tw.WriteHeader(&tar.Header{Name: "cifar-10-batches-bin/data_batch_1.bin", Mode: 0o644, Size: gib,
		Typeflag: tar.TypeReg})
	_ = tw.Flush()
	archive := filepath.Join(dir, "cifar10", "cifar-10-binary.tar.gz")
	_ = os.MkdirAll(filepath.Dir(archive), 0o755)
	zerosGzip(t, archive, hdr.Bytes(), gib)
	publishFixture(t, "cifar10", dir)
	n = datasetstest.Allocated(func() { _, err = Load("cifar10", Options{Dir: dir}) })
	if err == nil || !strings.Contains(err.Error(), "data_batch_1.bin") || !strings.Contains(err.Error(),
		fmt.Sprint(cifar10Batch)) {
		t.Errorf("archive bomb: %v", err)
	}
	if n > 16<<20 {
		t.Errorf("archive bomb allocated %d MB", n>>20)
	}
	t.Logf("archive bomb: %d KB allocated", n>>10)
	// Extracted to disk (Pets, Flowers): refused before writing.
	err = extractTar(archive, filepath.Join(dir, "out"))
	if err == nil || !strings.Contains(err.Error(), "more than") {
		t.Errorf("extraction bomb: %v", err)
	}
	if entries, _ := os.ReadDir(filepath.Join(dir, "out")); len(entries) != 0 {
		t.Errorf("extraction bomb left %v", entries)
	}
}

// TestInterruptedExtraction: what an interrupted extraction left is removed by the next one; a running one's
// folder is kept.
func TestInterruptedExtraction(t *testing.T) {
	dir := t.TempDir()
	// PID 999999999 is above Linux's largest (2^22): no process has it.
	stale := filepath.Join(dir, ".extract-999999999-123", "images")
	oldStyle := filepath.Join(dir, ".extract-4242", "images")
	running := filepath.Join(dir, fmt.Sprintf(".extract-%d-7", os.Getpid()))
	writeFile(t, filepath.Join(stale, "half.jpg"), []byte("half"))
	writeFile(t, filepath.Join(oldStyle, "half.jpg"), []byte("half"))
	_ = os.MkdirAll(running, 0o755)
	writeFile(t, filepath.Join(dir, "images.tar.gz"), tarGz(t, [][2]string{{"images/a.jpg", "jpeg"}}))
	if err := ensureExtracted(dir, "images.tar.gz"); err != nil {
		t.Fatal(err)
	}
	if exists(filepath.Dir(stale)) || exists(filepath.Dir(oldStyle)) || !exists(running) {
		t.Errorf("leftovers: stale %t, old style %t, running kept %t", exists(filepath.Dir(stale)),
			exists(filepath.Dir(oldStyle)), exists(running))
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "images", "a.jpg")); string(b) != "jpeg" {
		t.Errorf("extracted %q", b)
	}
}
