package files

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// noHome clears the variables that name a cache folder and points the temporary folder at a test folder.
func noHome(t *testing.T) string {
	t.Helper()
	tmp := t.TempDir()
	for _, v := range []string{"HOME", "XDG_CACHE_HOME", EnvCache, EnvDatasets, EnvWeights} {
		t.Setenv(v, "")
	}
	t.Setenv("TMPDIR", tmp)
	return tmp
}

// TestCacheWithoutHome: without $HOME the cache is a folder of this user's, created 0700, and one that others may
// write into is refused in one line, its files and verification stamps trusted no more. Before, the cache was the
// shared $TMPDIR/vitnb, whose stamps were trusted whoever wrote them.
func TestCacheWithoutHome(t *testing.T) {
	tmp := noHome(t)
	root := CacheRoot()
	if filepath.Dir(root) != tmp || root == filepath.Join(tmp, "vitnb") {
		t.Fatalf("cache without $HOME: %s, want a folder of this user's in %s (not the shared vitnb)", root, tmp)
	}
	data := filepath.Join(DatasetsDir(), "x", "file.bin")
	if err := CheckCache(data); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(root); err != nil || st.Mode().Perm() != 0o700 {
		t.Fatalf("cache folder %s: %v, mode %v; want 0700", root, err, st.Mode().Perm())
	}
	// A cached file with a stamp that matches: trusted in a private folder...
	content := []byte("the published bytes")
	sum := sha256.Sum256(content)
	f := RemoteFile{Name: "file.bin", SHA256: hex.EncodeToString(sum[:]), Size: int64(len(content))}
	if err := os.MkdirAll(filepath.Dir(data), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(data, []byte("something else, same size"[:len(content)]), 0o644); err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(data)
	forged, _ := json.Marshal(stamp{Size: st.Size(), ModTime: st.ModTime().UnixNano(), Algo: "sha256", Hex: f.SHA256})
	if err := os.WriteFile(data+stampSuffix, forged, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := CheckCached(data, f); err != nil {
		t.Fatalf("a stamped file in the private cache: %v", err)
	}
	// ... and refused, stamp and all, once others may write into the folder.
	if err := os.Chmod(root, 0o777); err != nil {
		t.Fatal(err)
	}
	for what, err := range map[string]error{"CheckCache": CheckCache(data), "CheckCached": CheckCached(data, f),
		"Download": (&Downloader{}).Download(t.Context(), "http://127.0.0.1:1/x", data+".new", f)} {
		if err == nil || !strings.Contains(err.Error(), root+" ($HOME is not set) is not private: others may write into it (mode 0777); set HOME or VITNB_CACHE") ||
			strings.Contains(err.Error(), "\n") {
			t.Errorf("%s in a world-writable cache: %v", what, err)
		}
	}
	if HasStamp(filepath.Join(tmp, "elsewhere")) {
		t.Error("a stamp was found for a file never verified")
	}
	// A link in its place, and (as root, who can give it away) another user's folder.
	if err := os.RemoveAll(root); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(t.TempDir(), root); err != nil {
		t.Fatal(err)
	}
	if err := CheckCache(data); err == nil || !strings.Contains(err.Error(), "it is not a folder (a link?)") {
		t.Errorf("a link as cache folder: %v", err)
	}
	if os.Getuid() == 0 {
		if err := os.Remove(root); err != nil {
			t.Fatal(err)
		}
		if err := os.Mkdir(root, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(root, 4242, 4242); err != nil {
			t.Fatal(err)
		}
		if err := CheckCache(data); err == nil || !strings.Contains(err.Error(), "another user owns it") {
			t.Errorf("another user's cache folder: %v", err)
		}
	}
	// Folders the user chose are theirs to judge.
	if err := CheckCache(filepath.Join(tmp, "vitnb", "datasets")); err != nil {
		t.Errorf("a folder outside the private one: %v", err)
	}
}
