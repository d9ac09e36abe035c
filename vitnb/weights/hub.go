package weights

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/vitnb/vitnb/vitnb/files"
)

// The Hugging Face Hub cache is read and written here as Python's huggingface_hub lays it out
// (huggingface_hub/file_download.py, hf_hub_download): HUB/models--ORG--NAME/refs/main holds the commit of the
// branch, snapshots/COMMIT/FILE are relative symbolic links to blobs/ETAG, and ETAG is the file's SHA-256 for large
// (LFS) files, its git blob hash for small ones; a file the repository does not have is marked by an empty
// .no_exist/COMMIT/FILE. github.com/gomlx/go-huggingface v0.3.1 (package hub) was tried first: it keeps its own
// info/ folder instead of refs/, always asks the server for the revision (no offline mode, no HF_HUB_OFFLINE,
// HF_HOME or HF_HUB_CACHE), prints its progress to stdout and takes no context, so vitnb does the same layout
// itself.

// hubFiles are the files of a Hub model that Resolve fetches: the weights, then the sidecars Load reads.
var hubFiles = []files.RemoteFile{
	{Name: "model.safetensors", Check: checkWeights},
	{Name: "config.json", Check: checkJSON, MaxSize: files.MaxSidecarSize},
	{Name: "preprocessor_config.json", Check: checkJSON, Optional: true, MaxSize: files.MaxSidecarSize},
}

// HubCacheDir is the Hugging Face Hub cache, found as huggingface_hub does (constants.py): $HF_HUB_CACHE, else
// $HF_HOME/hub, else $XDG_CACHE_HOME/huggingface/hub, else ~/.cache/huggingface/hub.
// Without $HOME it is huggingface/hub in files.PrivateTempRoot.
func HubCacheDir() string {
	if d := os.Getenv("HF_HUB_CACHE"); d != "" {
		return d
	}
	if d := os.Getenv("HF_HOME"); d != "" {
		return filepath.Join(d, "hub")
	}
	if d := os.Getenv("XDG_CACHE_HOME"); d != "" {
		return filepath.Join(d, "huggingface", "hub")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return filepath.Join(files.PrivateTempRoot(), "huggingface", "hub") // private (files.CheckCache)
	}
	return filepath.Join(home, ".cache", "huggingface", "hub")
}

// hubOffline tells whether $HF_HUB_OFFLINE asks for no network (huggingface_hub reads 1, ON, YES, TRUE).
func hubOffline() bool {
	switch strings.ToUpper(os.Getenv("HF_HUB_OFFLINE")) {
	case "1", "ON", "YES", "TRUE":
		return true
	}
	return false
}

var (
	// hubRepoRe is a Hub model id, ORG/NAME (huggingface_hub's validate_repo_id: letters, digits, "-", "_", ".").
	hubRepoRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$`)
	// commitRe is a git commit hash.
	commitRe = regexp.MustCompile(`^[0-9a-f]{40}$`)
	// etagRe is what may name a blob: a SHA-256 (LFS) or a git blob hash.
	etagRe = regexp.MustCompile(`^[0-9a-f]{40}([0-9a-f]{24})?$`)
)

// resolveHub returns the weights file of Hub model repo (ORG/NAME) from the Hub cache, downloading it there first
// when it is not complete (unless offline).
func resolveHub(ctx context.Context, repo string, opts ResolveOptions) (string, error) {
	if !hubRepoRe.MatchString(repo) || strings.Contains(repo, "..") {
		return "", fmt.Errorf("hf:%s: %w: want hf:ORG/NAME, e.g. hf:google/vit-base-patch16-224", repo, ErrName)
	}
	cache := opts.HubCache
	if cache == "" {
		cache = HubCacheDir()
	}
	folder := filepath.Join(cache, "models--"+strings.ReplaceAll(repo, "/", "--"))
	if err := files.CheckCache(folder); err != nil {
		return "", err
	}
	offline := opts.Offline || hubOffline()
	if path, err := cachedSnapshot(folder); err == nil {
		if err := files.CheckCached(path, hubFiles[0]); err != nil {
			return "", fmt.Errorf("hf:%s: %w (delete %s and run again to download it anew)", repo, err, folder)
		}
		// timm.create_model(NAME, pretrained=True) fetches the weights alone: online, config.json is added.
		if offline || hasFile(path, hubFiles[1].Name) {
			return path, nil
		}
	} else if offline {
		return "", fmt.Errorf("hf:%s: %w (%v): download it where the network is (python -c \"import huggingface_hub; "+
			"huggingface_hub.snapshot_download('%s')\") and copy %s here, or unset HF_HUB_OFFLINE", repo, ErrOffline, err,
			repo, folder)
	}
	endpoint := cmp.Or(opts.Endpoint, opts.Mirror)
	if endpoint == "" {
		endpoint = os.Getenv("HF_ENDPOINT")
	}
	if endpoint == "" {
		endpoint = strings.TrimSuffix(huggingFace, "/")
	}
	endpoint = strings.TrimSuffix(endpoint, "/")
	commit := ""
	for _, f := range hubFiles {
		c, err := fetchHubFile(ctx, endpoint, repo, folder, commit, f, opts)
		if err != nil {
			return "", fmt.Errorf("hf:%s: %w", repo, err)
		}
		commit = c
	}
	if err := files.WriteAtomic(filepath.Join(folder, "refs", "main"), func(w io.Writer) error {
		_, err := w.Write([]byte(commit))
		return err
	}); err != nil {
		return "", fmt.Errorf("hf:%s: %w", repo, err)
	}
	return filepath.Join(folder, "snapshots", commit, hubFiles[0].Name), nil
}

// hasFile tells whether the snapshot of weights file path has name, or knows that the repository has none
// (huggingface_hub's .no_exist/COMMIT/NAME).
func hasFile(path, name string) bool {
	snap := filepath.Dir(path)
	for _, p := range []string{filepath.Join(snap, name),
		filepath.Join(snap, "..", "..", ".no_exist", filepath.Base(snap), name)} {
		if _, err := os.Stat(p); err == nil {
			return true
		}
	}
	return false
}

// cachedSnapshot returns the weights file of the snapshot refs/main points at, when that snapshot has it.
func cachedSnapshot(folder string) (string, error) {
	ref, err := os.ReadFile(filepath.Join(folder, "refs", "main"))
	if err != nil {
		return "", fmt.Errorf("not in the Hugging Face cache %s", folder)
	}
	commit := strings.TrimSpace(string(ref))
	if !commitRe.MatchString(commit) {
		return "", fmt.Errorf("%s holds %q, not a commit", filepath.Join(folder, "refs", "main"), commit)
	}
	path := filepath.Join(folder, "snapshots", commit, hubFiles[0].Name)
	if _, err := os.Stat(path); err != nil {
		return "", fmt.Errorf("the snapshot %s has no %s", filepath.Dir(path), hubFiles[0].Name)
	}
	return path, nil
}

// fetchHubFile asks the Hub for a file of the main branch (a HEAD request that is not redirected, as
// huggingface_hub's get_hf_file_metadata: X-Repo-Commit, X-Linked-Etag or ETag, X-Linked-Size), downloads its blob
// unless the cache has it (verified against the SHA-256 of LFS files, the size and the format), and links the
// snapshot's file to it. It returns the commit. want, if not "", is the commit of the files fetched before.
func fetchHubFile(ctx context.Context, endpoint, repo, folder, want string, f files.RemoteFile,
	opts ResolveOptions) (string, error) {
	url := endpoint + "/" + repo + "/resolve/main/" + f.Name
	client := http.Client{}
	if opts.Client != nil {
		client = *opts.Client
	}
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, url, nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("Accept-Encoding", "identity")
	resp, err := client.Do(req)
	if err != nil {
		return "", fmt.Errorf("%w. Offline or blocked? Download the model where the network is and copy %s here "+
			"(the layout of huggingface_hub), or set HF_ENDPOINT to a mirror", err, folder)
	}
	_ = resp.Body.Close()
	commit := resp.Header.Get("X-Repo-Commit")
	if resp.StatusCode == http.StatusNotFound && f.Optional && commitRe.MatchString(want) {
		// huggingface_hub marks a file the repository does not have, so that offline runs know.
		marker := filepath.Join(folder, ".no_exist", want, f.Name)
		if err := os.MkdirAll(filepath.Dir(marker), 0o755); err == nil {
			_ = os.WriteFile(marker, nil, 0o644)
		}
		return want, nil
	}
	if resp.StatusCode >= 400 {
		return "", fmt.Errorf("%s: HTTP %s", url, resp.Status)
	}
	if !commitRe.MatchString(commit) {
		return "", fmt.Errorf("%s: the server sent no commit (X-Repo-Commit %q): not a Hugging Face Hub", url, commit)
	}
	if want != "" && commit != want {
		return "", fmt.Errorf("%s: the branch moved (commit %s, then %s) while downloading: run again", url, want, commit)
	}
	etag := resp.Header.Get("X-Linked-Etag")
	if etag == "" {
		etag = resp.Header.Get("ETag")
	}
	etag = strings.Trim(strings.TrimPrefix(etag, "W/"), `"`)
	if !etagRe.MatchString(etag) {
		return "", fmt.Errorf("%s: the server sent no usable ETag (%q)", url, etag)
	}
	if len(etag) == 64 {
		f.SHA256 = etag // An LFS file: its ETag is its SHA-256.
	}
	if size, err := strconv.ParseInt(resp.Header.Get("X-Linked-Size"), 10, 64); err == nil && size > 0 {
		f.Size = size
	}
	blob := filepath.Join(folder, "blobs", etag)
	if _, err := os.Stat(blob); err != nil {
		d := &files.Downloader{Client: opts.Client, Progress: opts.Progress, Label: repo + "/" + f.Name}
		if err := d.Download(ctx, endpoint+"/"+repo+"/resolve/"+commit+"/"+f.Name, blob, f); err != nil {
			return "", err
		}
		// The stamp stays outside the blobs folder, which huggingface_hub's cache scan expects to hold blobs only.
		_ = os.Remove(blob + ".verified")
	} else {
		cheap := f // A blob already there: its size and format, not its SHA-256 (that is read once, at download).
		cheap.SHA256 = ""
		if err := files.CheckCached(blob, cheap); err != nil {
			return "", err
		}
	}
	link := filepath.Join(folder, "snapshots", commit, f.Name)
	if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
		return "", err
	}
	if err := os.Remove(link); err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	if err := os.Symlink(filepath.Join("..", "..", "blobs", etag), link); err != nil {
		return "", fmt.Errorf("linking %s: %w", link, err)
	}
	return commit, nil
}
