package weights

import (
	"bytes"
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vitnb/vitnb/vitnb/files"
	"github.com/vitnb/vitnb/vitnb/weights/safetensors"
)

const (
	hubRepo   = "google/vit-tiny-test"
	hubCommit = "0123456789abcdef0123456789abcdef01234567"
)

// hubBlob is a file as the Hub serves it, with its ETag: the SHA-256 for LFS files, the git blob hash otherwise.
type hubBlob struct {
	data []byte
	etag string
	lfs  bool
}

func lfsBlob(data []byte) hubBlob {
	s := sha256.Sum256(data)
	return hubBlob{data, hex.EncodeToString(s[:]), true}
}

func gitBlob(data []byte) hubBlob {
	h := sha1.New()
	fmt.Fprintf(h, "blob %d\x00", len(data))
	h.Write(data)
	return hubBlob{data, hex.EncodeToString(h.Sum(nil)), false}
}

// fixtureBlobs are the HF fixture (made by transformers, see testdata/make_fixtures.py) as Hub files.
func fixtureBlobs(t *testing.T) map[string]hubBlob {
	model, err := os.ReadFile("testdata/hf/model.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	config, err := os.ReadFile("testdata/hf/config.json")
	if err != nil {
		t.Fatal(err)
	}
	return map[string]hubBlob{"model.safetensors": lfsBlob(model), "config.json": gitBlob(config)}
}

// layHubCache writes a model into a Hub cache as huggingface_hub does: blobs, relative links in snapshots/COMMIT,
// refs/main.
func layHubCache(t *testing.T, cache, repo, commit string, blobs map[string]hubBlob) string {
	folder := filepath.Join(cache, "models--"+strings.ReplaceAll(repo, "/", "--"))
	for name, b := range blobs {
		blob := filepath.Join(folder, "blobs", b.etag)
		link := filepath.Join(folder, "snapshots", commit, name)
		for _, d := range []string{filepath.Dir(blob), filepath.Dir(link)} {
			if err := os.MkdirAll(d, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.WriteFile(blob, b.data, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink("../../blobs/"+b.etag, link); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Join(folder, "refs"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(folder, "refs", "main"), []byte(commit), 0o644); err != nil {
		t.Fatal(err)
	}
	return folder
}

// hubServer answers as the Hugging Face Hub: HEAD or GET /REPO/resolve/main/FILE with X-Repo-Commit, the ETag
// (X-Linked-Etag and X-Linked-Size for LFS files) and GET /REPO/resolve/COMMIT/FILE with the content (Range
// supported). Files not in blobs are 404.
type hubServer struct {
	repo, commit string
	blobs        map[string]hubBlob
	requests     atomic.Int64
}

func (h *hubServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.requests.Add(1)
	rest, ok := strings.CutPrefix(r.URL.Path, "/"+h.repo+"/resolve/")
	rev, name, _ := strings.Cut(rest, "/")
	b, found := h.blobs[name]
	if !ok || !found || (rev != "main" && rev != h.commit) {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("X-Repo-Commit", h.commit)
	if b.lfs {
		w.Header().Set("X-Linked-Etag", `"`+b.etag+`"`)
		w.Header().Set("X-Linked-Size", fmt.Sprint(len(b.data)))
	} else {
		w.Header().Set("ETag", `"`+b.etag+`"`)
	}
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(b.data))
}

func startHub(t *testing.T, blobs map[string]hubBlob) (*hubServer, string) {
	h := &hubServer{repo: hubRepo, commit: hubCommit, blobs: blobs}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	if !strings.HasPrefix(srv.URL, "http://127.0.0.1") {
		t.Fatalf("test server at %s", srv.URL)
	}
	return h, srv.URL
}

// TestResolveHubCache finds a model that huggingface_hub downloaded ($HF_HOME/hub), offline, without a request,
// and loads it with its config.json.
func TestResolveHubCache(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HF_HOME", home)
	t.Setenv("HF_HUB_CACHE", "")
	t.Setenv("HF_HUB_OFFLINE", "1")
	hub, url := startHub(t, nil)
	t.Setenv("HF_ENDPOINT", url)
	folder := layHubCache(t, filepath.Join(home, "hub"), hubRepo, hubCommit, fixtureBlobs(t))
	path, err := Resolve(context.Background(), "hf:"+hubRepo, ResolveOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(folder, "snapshots", hubCommit, "model.safetensors"); path != want {
		t.Errorf("path %s, want %s", path, want)
	}
	if n := hub.requests.Load(); n != 0 {
		t.Errorf("%d requests for a cached model", n)
	}
	store, info, err := Load(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	store.Finalize()
	if info.Format != FormatHF || info.Config.Heads != 3 || info.Config.Width != 24 {
		t.Errorf("loaded %s %s", info.Format, info.Config)
	}

	// HF_HUB_CACHE wins over HF_HOME.
	t.Setenv("HF_HUB_CACHE", t.TempDir())
	if _, err := Resolve(context.Background(), "hf:"+hubRepo, ResolveOptions{}); !errors.Is(err, ErrOffline) ||
		!strings.Contains(err.Error(), os.Getenv("HF_HUB_CACHE")) {
		t.Errorf("offline, not in HF_HUB_CACHE: %v", err)
	}
	t.Setenv("HF_HUB_CACHE", "")

	// A cached weights file that was cut short: one line that says so, not used.
	blob := fixtureBlobs(t)["model.safetensors"]
	if err := os.Truncate(filepath.Join(folder, "blobs", blob.etag), int64(len(blob.data)/2)); err != nil {
		t.Fatal(err)
	}
	_, err = Resolve(context.Background(), "hf:"+hubRepo, ResolveOptions{})
	if !errors.Is(err, files.ErrMismatch) || strings.Contains(err.Error(), "\n") {
		t.Errorf("truncated cached blob: %v", err)
	}
	for _, bad := range []string{"hf:noslash", "hf:../etc/passwd", "hf:a/b/c"} {
		if _, err := Resolve(context.Background(), bad, ResolveOptions{}); err == nil ||
			!strings.Contains(err.Error(), "hf:ORG/NAME") {
			t.Errorf("%s: %v", bad, err)
		}
	}
}

// TestResolveHubDownload downloads a model into an empty Hub cache as huggingface_hub would lay it out, then
// finds it there without a request.
func TestResolveHubDownload(t *testing.T) {
	t.Setenv("HF_HUB_OFFLINE", "")
	cache := t.TempDir()
	blobs := fixtureBlobs(t)
	hub, url := startHub(t, blobs)
	opts := ResolveOptions{HubCache: cache, Endpoint: url}
	path, err := Resolve(context.Background(), "hf:"+hubRepo, opts)
	if err != nil {
		t.Fatal(err)
	}
	folder := filepath.Join(cache, "models--google--vit-tiny-test")
	if ref, _ := os.ReadFile(filepath.Join(folder, "refs", "main")); string(ref) != hubCommit {
		t.Errorf("refs/main %q", ref)
	}
	for name, b := range blobs {
		link := filepath.Join(folder, "snapshots", hubCommit, name)
		if target, err := os.Readlink(link); err != nil || target != "../../blobs/"+b.etag {
			t.Errorf("%s links to %q (%v)", name, target, err)
		}
		if got, _ := os.ReadFile(link); !bytes.Equal(got, b.data) {
			t.Errorf("%s: content differs", name)
		}
	}
	if _, err := os.Stat(filepath.Join(folder, ".no_exist", hubCommit, "preprocessor_config.json")); err != nil {
		t.Errorf("no .no_exist marker for the missing preprocessor_config.json: %v", err)
	}
	if entries, _ := os.ReadDir(filepath.Join(folder, "blobs")); len(entries) != 2 {
		t.Errorf("blobs holds %d entries, want the 2 blobs", len(entries))
	}
	if path != filepath.Join(folder, "snapshots", hubCommit, "model.safetensors") {
		t.Errorf("path %s", path)
	}
	before := hub.requests.Load()
	if again, err := Resolve(context.Background(), "hf:"+hubRepo, opts); err != nil || again != path ||
		hub.requests.Load() != before {
		t.Errorf("second resolve: %v, %d requests", err, hub.requests.Load()-before)
	}

	// A server whose weights do not match their SHA-256 (ETag): refused, nothing linked.
	cache2 := t.TempDir()
	bad := blobs["model.safetensors"]
	bad.etag = strings.Repeat("ab", 32)
	_, url2 := startHub(t, map[string]hubBlob{"model.safetensors": bad, "config.json": blobs["config.json"]})
	_, err = Resolve(context.Background(), "hf:"+hubRepo, ResolveOptions{HubCache: cache2, Endpoint: url2})
	if !errors.Is(err, files.ErrMismatch) {
		t.Errorf("bad SHA-256: %v", err)
	}
	if _, err := os.Lstat(filepath.Join(cache2, "models--google--vit-tiny-test", "snapshots", hubCommit,
		"model.safetensors")); err == nil {
		t.Error("a file that does not verify was linked")
	}
}

// TestGet: a catalog checkpoint from a mirror; a cached file that lost its tail is downloaded again; offline,
// the error says where to put the file by hand.
func TestGet(t *testing.T) {
	var buf bytes.Buffer
	if err := safetensors.Write(&buf, []safetensors.Tensor{safetensors.Float32Tensor("patch_embed.proj.weight",
		make([]float32, 2*3*4*4), 2, 3, 4, 4)}, nil); err != nil {
		t.Fatal(err)
	}
	model := buf.Bytes()
	const name = "timm/vit_base_patch16_224.augreg_in21k_ft_in1k"
	var requests atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("/"+name+"/resolve/main/model.safetensors", func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		http.ServeContent(w, r, "m", time.Time{}, bytes.NewReader(model))
	})
	mux.HandleFunc("/"+name+"/resolve/main/config.json", func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"architecture": "vit_base_patch16_224"}`))
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	cache := t.TempDir()
	opts := ResolveOptions{CacheDir: cache, Mirror: srv.URL}
	path, err := Resolve(context.Background(), name, opts)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(path); !bytes.Equal(got, model) {
		t.Fatal("content differs")
	}
	if p, err := Resolve(context.Background(), name, opts); err != nil || p != path || requests.Load() != 1 {
		t.Errorf("cached: %v, %d requests", err, requests.Load())
	}
	if err := os.Truncate(path, int64(len(model)-10)); err != nil {
		t.Fatal(err)
	}
	var progress bytes.Buffer
	opts.Progress = &progress
	if _, err := Resolve(context.Background(), name, opts); err != nil || requests.Load() != 2 ||
		!strings.Contains(progress.String(), "downloading it again") {
		t.Errorf("truncated cache file: %v, %d requests, %q", err, requests.Load(), progress.String())
	}
	if p, err := Resolve(context.Background(), path, ResolveOptions{}); err != nil || p != path {
		t.Errorf("a file path: %q %v", p, err)
	}
	if _, err := Resolve(context.Background(), "ViT-Z_99", ResolveOptions{}); err == nil ||
		!strings.Contains(err.Error(), "ViT-B_16-i21k") {
		t.Errorf("unknown name should list the known ones: %v", err)
	}
	if _, err := Resolve(context.Background(), name, ResolveOptions{CacheDir: t.TempDir(), Offline: true}); !errors.Is(
		err, ErrOffline) {
		t.Errorf("offline: %v", err)
	}

	srv.Close() // Nothing listens there any more.
	other := t.TempDir()
	_, err = Resolve(context.Background(), name, ResolveOptions{CacheDir: other, Mirror: srv.URL})
	want := filepath.Join(CheckpointDir(other, name), "model.safetensors")
	if err == nil || !strings.Contains(err.Error(), "by hand") || !strings.Contains(err.Error(), want) {
		t.Errorf("unreachable: %v", err)
	}
}

// TestResolveHubWeightsOnly: timm.create_model(NAME, pretrained=True) leaves the weights without config.json;
// offline that is what Resolve returns, online it adds config.json without fetching the weights again.
func TestResolveHubWeightsOnly(t *testing.T) {
	t.Setenv("HF_HUB_OFFLINE", "")
	cache := t.TempDir()
	blobs := fixtureBlobs(t)
	layHubCache(t, cache, hubRepo, hubCommit, map[string]hubBlob{"model.safetensors": blobs["model.safetensors"]})
	hub, url := startHub(t, blobs)
	opts := ResolveOptions{HubCache: cache, Endpoint: url, Offline: true}
	path, err := Resolve(context.Background(), "hf:"+hubRepo, opts)
	if err != nil || hub.requests.Load() != 0 {
		t.Fatalf("offline: %v, %d requests", err, hub.requests.Load())
	}
	opts.Offline = false
	var progress bytes.Buffer
	opts.Progress = &progress
	if p, err := Resolve(context.Background(), "hf:"+hubRepo, opts); err != nil || p != path {
		t.Fatalf("online: %q %v", p, err)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(path), "config.json")); err != nil {
		t.Errorf("config.json not added: %v", err)
	}
	if strings.Contains(progress.String(), "model.safetensors") {
		t.Errorf("the weights were fetched again: %q", progress.String())
	}
}

// TestResolveHubMirror: a Mirror is the Hub server for hf: names (before $HF_ENDPOINT); Endpoint wins over it.
func TestResolveHubMirror(t *testing.T) {
	t.Setenv("HF_HUB_OFFLINE", "")
	t.Setenv("HF_ENDPOINT", "http://127.0.0.1:1") // nothing listens there
	hub, url := startHub(t, fixtureBlobs(t))
	path, err := Resolve(context.Background(), "hf:"+hubRepo, ResolveOptions{HubCache: t.TempDir(), Mirror: url})
	if err != nil || hub.requests.Load() == 0 || filepath.Base(path) != "model.safetensors" {
		t.Fatalf("hf: through the mirror: %q, %v, %d requests", path, err, hub.requests.Load())
	}
	before := hub.requests.Load()
	if _, err := Resolve(context.Background(), "hf:"+hubRepo, ResolveOptions{HubCache: t.TempDir(), Mirror: url,
		Endpoint: "http://127.0.0.1:1"}); err == nil || hub.requests.Load() != before {
		t.Errorf("Endpoint did not win over Mirror: %v, %d requests", err, hub.requests.Load()-before)
	}
}

// TestCacheNotPrivate: without $HOME, a cache folder that others may write into is refused by Get and the Hub in
// one line saying so, nothing downloaded or read there. Before, the catalog's error told the user to put the file
// there by hand.
func TestCacheNotPrivate(t *testing.T) {
	for _, v := range []string{"HOME", "XDG_CACHE_HOME", "HF_HUB_CACHE", "HF_HOME", files.EnvCache, files.EnvWeights} {
		t.Setenv(v, "")
	}
	t.Setenv("TMPDIR", t.TempDir())
	root := files.PrivateTempRoot()
	if err := os.Mkdir(root, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(root, 0o777); err != nil {
		t.Fatal(err)
	}
	want := "vitnb's cache folder " + root + " ($HOME is not set) is not private: others may write into it (mode 0777); set HOME or VITNB_CACHE to a folder of yours"
	for _, name := range []string{"timm/vit_base_patch16_224.augreg_in21k_ft_in1k", "hf:" + hubRepo} {
		_, err := Resolve(context.Background(), name, ResolveOptions{Mirror: "http://127.0.0.1:1"})
		if err == nil || err.Error() != want {
			t.Errorf("%s into a cache others may write: %v, want %q", name, err, want)
		}
	}
	if entries, _ := os.ReadDir(root); len(entries) != 0 {
		t.Errorf("files written into a cache others may write: %v", entries)
	}
}

// TestGetBadKnown: a Known checkpoint without files, or with a file name that is not a plain name (which would
// be written outside its folder), is an error before anything is fetched: Get(Known{}) panicked.
func TestGetBadKnown(t *testing.T) {
	cache := t.TempDir()
	for name, k := range map[string]Known{
		"zero":         {},
		"no files":     {Name: "x"},
		"parent":       {Name: "x", Files: []files.RemoteFile{{Name: "../../escaped.safetensors", URL: "http://127.0.0.1:1/a"}}},
		"empty name":   {Name: "x", Files: []files.RemoteFile{{URL: "http://127.0.0.1:1/a"}}},
		"slashed name": {Name: "x", Files: []files.RemoteFile{{Name: "a/b.npz", URL: "http://127.0.0.1:1/a"}}},
	} {
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Errorf("%s: panic %v", name, r)
				}
			}()
			if _, err := Get(context.Background(), k, cache, "", nil, nil); err == nil || !strings.Contains(err.Error(), "file") {
				t.Errorf("%s: got %v, want an error about its files", name, err)
			}
		}()
	}
}
