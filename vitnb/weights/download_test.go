package weights

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// blobServer serves payload at /blob with Range support. Headers: X-Linked-Etag (sha256) and x-goog-hash (md5)
// as Hugging Face and Google Cloud Storage send. breakAfter > 0 makes the first full request stop after that
// many bytes (a broken connection).
type blobServer struct {
	payload    []byte
	sha, md5   string
	breakAfter int
	served     atomic.Int64
	requests   atomic.Int64
}

func newBlob(n int) *blobServer {
	p := make([]byte, n)
	for i := range p {
		p[i] = byte(i*7 + i/251)
	}
	s := sha256.Sum256(p)
	m := md5.Sum(p)
	return &blobServer{payload: p, sha: hex.EncodeToString(s[:]), md5: base64.StdEncoding.EncodeToString(m[:])}
}

func (b *blobServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b.requests.Add(1)
	switch r.URL.Path {
	case "/redirect": // Hugging Face style: the checksum is on the redirect.
		w.Header().Set("X-Linked-Etag", `"`+b.sha+`"`)
		http.Redirect(w, r, "/blob", http.StatusFound)
		return
	case "/gcs":
		w.Header().Set("X-Goog-Hash", "crc32c=AAAAAA==,md5="+b.md5)
	case "/blob":
	default:
		http.NotFound(w, r)
		return
	}
	if b.breakAfter > 0 && r.Header.Get("Range") == "" {
		w.Header().Set("Content-Length", fmt.Sprint(len(b.payload)))
		_, _ = w.Write(b.payload[:b.breakAfter])
		b.served.Add(int64(b.breakAfter))
		panic(http.ErrAbortHandler) // Cut the connection.
	}
	cw := &countWriter{ResponseWriter: w, n: &b.served}
	http.ServeContent(cw, r, "blob", time.Time{}, bytes.NewReader(b.payload))
}

type countWriter struct {
	http.ResponseWriter
	n *atomic.Int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	c.n.Add(int64(len(p)))
	return c.ResponseWriter.Write(p)
}

func TestDownload(t *testing.T) {
	blob := newBlob(300_000)
	srv := httptest.NewServer(blob)
	defer srv.Close()
	dir := t.TempDir()
	ctx := context.Background()

	// Plain download with the Hugging Face checksum on the redirect, and with GCS's md5.
	for _, path := range []string{"/redirect", "/gcs"} {
		dest := filepath.Join(dir, strings.Trim(path, "/"))
		var progress bytes.Buffer
		if err := Download(ctx, srv.URL+path, dest, DownloadOptions{Progress: &progress}); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		got, _ := os.ReadFile(dest)
		if !bytes.Equal(got, blob.payload) {
			t.Errorf("%s: downloaded content differs", path)
		}
		if !strings.Contains(progress.String(), "100.0%") {
			t.Errorf("%s: progress %q", path, progress.String())
		}
	}

	// Resume: a .part file with the first 100 kB; only the rest is served.
	dest := filepath.Join(dir, "resumed")
	_ = os.WriteFile(dest+".part", blob.payload[:100_000], 0o644)
	blob.served.Store(0)
	if err := Download(ctx, srv.URL+"/blob", dest, DownloadOptions{SHA256: blob.sha}); err != nil {
		t.Fatal(err)
	}
	if n := blob.served.Load(); n != 200_000 {
		t.Errorf("resume served %d bytes, want 200000", n)
	}
	if got, _ := os.ReadFile(dest); !bytes.Equal(got, blob.payload) {
		t.Error("resumed content differs")
	}
	if _, err := os.Stat(dest + ".part"); !os.IsNotExist(err) {
		t.Error(".part file left after success")
	}

	// Wrong checksum: error, nothing at dest, .part removed.
	dest = filepath.Join(dir, "bad-sum")
	err := Download(ctx, srv.URL+"/blob", dest, DownloadOptions{SHA256: strings.Repeat("0", 64)})
	if err == nil || !strings.Contains(err.Error(), "checksum") {
		t.Errorf("wrong checksum: %v", err)
	}
	if _, err := os.Stat(dest); !os.IsNotExist(err) {
		t.Error("file with a wrong checksum was kept")
	}

	// Wrong size.
	err = Download(ctx, srv.URL+"/blob", filepath.Join(dir, "bad-size"), DownloadOptions{Size: 12})
	if err == nil || !strings.Contains(err.Error(), "12") {
		t.Errorf("wrong size: %v", err)
	}

	// 404.
	err = Download(ctx, srv.URL+"/nothing", filepath.Join(dir, "none"), DownloadOptions{})
	if err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("404: %v", err)
	}
}

// TestDownloadBrokenThenResumed cuts the connection half-way, then downloads again: the second call resumes.
func TestDownloadBrokenThenResumed(t *testing.T) {
	blob := newBlob(200_000)
	blob.breakAfter = 50_000
	srv := httptest.NewServer(blob)
	defer srv.Close()
	dest := filepath.Join(t.TempDir(), "w.bin")
	err := Download(context.Background(), srv.URL+"/blob", dest, DownloadOptions{SHA256: blob.sha})
	if err == nil || !strings.Contains(err.Error(), "run again to resume") {
		t.Fatalf("broken transfer: %v", err)
	}
	if st, err := os.Stat(dest + ".part"); err != nil || st.Size() == 0 {
		t.Fatalf("no partial file kept: %v", err)
	}
	blob.breakAfter = 0
	if err := Download(context.Background(), srv.URL+"/blob", dest, DownloadOptions{SHA256: blob.sha}); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(dest); !bytes.Equal(got, blob.payload) {
		t.Error("content differs after resume")
	}
}

// TestGetOffline: an unreachable server gives an error that says where to put the file by hand.
func TestGetOffline(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // Nothing listens there any more.
	k, err := Lookup("timm/vit_base_patch16_224.augreg_in21k_ft_in1k")
	if err != nil {
		t.Fatal(err)
	}
	cache := t.TempDir()
	_, err = Get(context.Background(), k, cache, url, nil, nil)
	want := filepath.Join(CheckpointDir(cache, k.Name), "model.safetensors")
	if err == nil || !strings.Contains(err.Error(), "by hand") || !strings.Contains(err.Error(), want) {
		t.Errorf("offline: %v", err)
	}
	if _, err := Lookup("ViT-Z_99"); err == nil || !strings.Contains(err.Error(), "ViT-B_16-i21k") {
		t.Errorf("unknown name should list the known ones: %v", err)
	}
}
