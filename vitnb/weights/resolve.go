package weights

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/vitnb/vitnb/vitnb/files"
)

// ResolveOptions tune Resolve. The zero value uses the default cache folders and servers.
type ResolveOptions struct {
	// CacheDir is vitnb's weights cache for catalog names ("": files.WeightsDir(), $VITNB_WEIGHTS_DIR or
	// ~/.cache/vitnb/weights).
	CacheDir string
	// Mirror, if not "", replaces https://storage.googleapis.com and https://huggingface.co in catalog URLs, and
	// is the Hugging Face Hub server for hf: names when Endpoint is "".
	Mirror string
	// HubCache is the Hugging Face Hub cache for hf: names ("": HubCacheDir(), which honours $HF_HUB_CACHE and
	// $HF_HOME).
	HubCache string
	// Endpoint is the Hugging Face Hub server ("": Mirror, else $HF_ENDPOINT, else https://huggingface.co).
	Endpoint string
	// Offline uses only what is in the caches (also when $HF_HUB_OFFLINE is set for hf: names).
	Offline bool
	// Client is the HTTP client (nil: default settings).
	Client *http.Client
	// Progress receives progress lines of downloads; nil for none.
	Progress io.Writer
}

// Resolve returns the path of a weights file, downloading what is missing. name is
//   - a file path (.npz or .safetensors): returned as it is;
//   - a catalog name (see Catalog, `vit weights list`): found in, or downloaded to, the weights cache;
//   - hf:ORG/NAME, a Hugging Face Hub model (google/vit-base-patch16-224, timm/vit_base_patch16_224.augreg2_in21k_ft_in1k):
//     found in the Hugging Face Hub cache as Python's huggingface_hub lays it out (so a model downloaded with
//     transformers or timm is not fetched again), or downloaded there.
//
// config.json and preprocessor_config.json, when the checkpoint has them, lie beside the returned file, where Load
// reads them.
func Resolve(ctx context.Context, name string, opts ResolveOptions) (string, error) {
	if repo, ok := strings.CutPrefix(name, "hf:"); ok {
		return resolveHub(ctx, repo, opts)
	}
	st, statErr := os.Stat(name)
	if statErr == nil {
		if st.IsDir() {
			return "", fmt.Errorf("%s is a folder: give the weights file in it (model.safetensors or .npz)", name)
		}
		return name, nil
	}
	k, err := Lookup(name)
	if err != nil && looksLikePath(name) { // say what is wrong with the path, not the whole catalog
		if pe, ok := statErr.(*fs.PathError); ok {
			statErr = pe.Err
		}
		return "", fmt.Errorf("weights file %s: %w", name, statErr)
	}
	if err != nil {
		return "", fmt.Errorf("%s is neither a file, a known checkpoint (vit weights list) nor hf:ORG/NAME: %w", name,
			err)
	}
	if opts.Offline {
		dir := opts.CacheDir
		if dir == "" {
			dir = files.WeightsDir()
		}
		path := k.WeightsFile(dir)
		if _, err := os.Stat(path); err != nil {
			return "", fmt.Errorf("%s: %w: download %s and put it at %s", name, ErrOffline, k.Files[0].URL, path)
		}
		if err := files.CheckCached(path, k.Files[0]); err != nil {
			return "", err
		}
		return path, nil
	}
	return Get(ctx, k, opts.CacheDir, opts.Mirror, opts.Client, opts.Progress)
}

// ErrName is wrapped by the errors of Resolve when a name is not well formed.
var ErrName = errors.New("bad weights name")

// ErrOffline is wrapped by the errors of Resolve when a file is missing and downloads are not allowed.
var ErrOffline = errors.New("not in the cache and offline")

// looksLikePath tells whether a weights name that is no catalog name was meant as a file path: it has a weights
// file extension, starts as a path does (/, ./, ../, ~), or names a file in a folder that exists.
func looksLikePath(name string) bool {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".npz", ".safetensors", ".bin", ".pth", ".pt", ".ckpt", ".h5", ".msgpack":
		return true
	}
	for _, p := range []string{"/", "./", "../", "~"} {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	dir := filepath.Dir(name)
	return dir != "." && isDir(dir)
}

// isDir tells whether path is a folder.
func isDir(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.IsDir()
}
