package weights

import (
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// DownloadOptions tune Download.
type DownloadOptions struct {
	// Client is the HTTP client; http.DefaultClient's settings if nil.
	Client *http.Client
	// Progress, if not nil, receives a progress line updated in place ("\r").
	Progress io.Writer
	// Label names the download in the progress line (the file name by default).
	Label string
	// Size is the expected size in bytes (0: trust the server's Content-Length or X-Linked-Size).
	Size int64
	// SHA256 is the expected hex digest (""): else the server's X-Linked-Etag (Hugging Face) or x-goog-hash
	// md5 (Google Cloud Storage) is checked when present.
	SHA256 string
}

// checksum is an expected digest: its algorithm, value and where it came from.
type checksum struct {
	algo, hexValue, from string
}

var sha256Re = regexp.MustCompile(`^"?([0-9a-f]{64})"?$`)

// Download fetches url into dest: it writes dest+".part", resumes a broken download from where the .part file
// ends (HTTP Range), checks the size and the checksum, and renames the file into place only when both match.
// A failed transfer leaves the .part file for the next call to resume; a wrong checksum removes it.
func Download(ctx context.Context, url, dest string, opts DownloadOptions) error {
	client := opts.Client
	if client == nil {
		client = &http.Client{}
	}
	// Hugging Face redirects LFS files to a CDN; the size and SHA-256 are in the headers of the redirect.
	var linked http.Header
	c := *client
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if req.Response != nil && linked == nil && req.Response.Header.Get("X-Linked-Etag") != "" {
			linked = req.Response.Header.Clone()
		}
		if len(via) >= 10 {
			return errors.New("too many redirects")
		}
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
		return err
	}
	part := dest + ".part"
	var offset int64
	if st, err := os.Stat(part); err == nil {
		offset = st.Size()
	}

	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	if offset > 0 {
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-", offset))
	}
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("downloading %s: %w", url, err)
	}
	defer func() { _ = resp.Body.Close() }()
	hdr := resp.Header
	if linked != nil {
		hdr = linked
	}

	var f *os.File
	total := int64(-1)
	switch resp.StatusCode {
	case http.StatusPartialContent:
		start, end, size, ok := parseContentRange(resp.Header.Get("Content-Range"))
		if !ok || start != offset {
			return fmt.Errorf("downloading %s: the server resumed at a different offset (%q, want %d)", url, resp.Header.Get("Content-Range"), offset)
		}
		total = size
		if total < 0 {
			total = end + 1
		}
		f, err = os.OpenFile(part, os.O_WRONLY|os.O_APPEND, 0o644)
	case http.StatusOK:
		offset = 0
		if resp.ContentLength >= 0 {
			total = resp.ContentLength
		}
		f, err = os.Create(part)
	case http.StatusRequestedRangeNotSatisfiable:
		// The .part file may already be complete: check it.
		return finish(part, dest, url, offset, opts, expectedChecksum(opts, hdr))
	default:
		return fmt.Errorf("downloading %s: HTTP %s", url, resp.Status)
	}
	if err != nil {
		return err
	}
	if s, err := strconv.ParseInt(hdr.Get("X-Linked-Size"), 10, 64); err == nil && total < 0 {
		total = s
	}
	if opts.Size > 0 {
		if total >= 0 && total != opts.Size {
			_ = f.Close()
			return fmt.Errorf("downloading %s: the server announces %d bytes, the catalog says %d", url, total, opts.Size)
		}
		total = opts.Size
	}
	label := opts.Label
	if label == "" {
		label = filepath.Base(dest)
	}
	pw := &progressWriter{w: f, out: opts.Progress, label: label, done: offset, total: total, start: time.Now(), startDone: offset}
	_, copyErr := io.Copy(pw, resp.Body)
	pw.print(true)
	closeErr := f.Close()
	if copyErr != nil {
		return fmt.Errorf("downloading %s: %w (the partial file %s is kept: run again to resume)", url, copyErr, part)
	}
	if closeErr != nil {
		return closeErr
	}
	if total < 0 {
		total = pw.done
	}
	return finish(part, dest, url, total, opts, expectedChecksum(opts, hdr))
}

// expectedChecksum picks the digest to check: the caller's SHA-256, else what the server says.
func expectedChecksum(opts DownloadOptions, h http.Header) *checksum {
	if opts.SHA256 != "" {
		return &checksum{"sha256", strings.ToLower(opts.SHA256), "the catalog"}
	}
	if m := sha256Re.FindStringSubmatch(strings.ToLower(h.Get("X-Linked-Etag"))); m != nil {
		return &checksum{"sha256", m[1], "the server's X-Linked-Etag"}
	}
	for _, v := range h.Values("X-Goog-Hash") {
		for _, part := range strings.Split(v, ",") {
			if b64, ok := strings.CutPrefix(strings.TrimSpace(part), "md5="); ok {
				if raw, err := base64.StdEncoding.DecodeString(b64); err == nil {
					return &checksum{"md5", hex.EncodeToString(raw), "the server's x-goog-hash"}
				}
			}
		}
	}
	return nil
}

// finish checks the size and checksum of the .part file and renames it to dest.
func finish(part, dest, url string, total int64, opts DownloadOptions, sum *checksum) error {
	st, err := os.Stat(part)
	if err != nil {
		return err
	}
	if total >= 0 && st.Size() != total {
		return fmt.Errorf("downloading %s: got %d bytes, want %d (the partial file %s is kept: run again to resume)", url, st.Size(), total, part)
	}
	if sum != nil {
		var h hash.Hash = sha256.New()
		if sum.algo == "md5" {
			h = md5.New()
		}
		f, err := os.Open(part)
		if err != nil {
			return err
		}
		_, err = io.Copy(h, f)
		_ = f.Close()
		if err != nil {
			return err
		}
		if got := hex.EncodeToString(h.Sum(nil)); got != sum.hexValue {
			_ = os.Remove(part)
			return fmt.Errorf("downloading %s: %s checksum %s does not match %s from %s; the file was removed", url, sum.algo, got, sum.hexValue, sum.from)
		}
	}
	return os.Rename(part, dest)
}

// parseContentRange reads "bytes START-END/SIZE" (SIZE may be "*", returned as -1).
func parseContentRange(s string) (start, end, size int64, ok bool) {
	s, found := strings.CutPrefix(s, "bytes ")
	if !found {
		return 0, 0, 0, false
	}
	rng, sz, found := strings.Cut(s, "/")
	if !found {
		return 0, 0, 0, false
	}
	a, b, found := strings.Cut(rng, "-")
	if !found {
		return 0, 0, 0, false
	}
	var err1, err2 error
	start, err1 = strconv.ParseInt(a, 10, 64)
	end, err2 = strconv.ParseInt(b, 10, 64)
	if err1 != nil || err2 != nil {
		return 0, 0, 0, false
	}
	size = -1
	if sz != "*" {
		if size, err1 = strconv.ParseInt(sz, 10, 64); err1 != nil {
			return 0, 0, 0, false
		}
	}
	return start, end, size, true
}

// progressWriter writes to w and prints a progress line at most 5 times a second.
type progressWriter struct {
	w           io.Writer
	out         io.Writer
	label       string
	done, total int64
	start, last time.Time
	startDone   int64
}

func (p *progressWriter) Write(b []byte) (int, error) {
	n, err := p.w.Write(b)
	p.done += int64(n)
	if time.Since(p.last) > 200*time.Millisecond {
		p.print(false)
	}
	return n, err
}

func (p *progressWriter) print(final bool) {
	if p.out == nil {
		return
	}
	p.last = time.Now()
	rate := float64(p.done-p.startDone) / 1e6 / max(time.Since(p.start).Seconds(), 1e-3)
	const width = 30
	if p.total > 0 {
		frac := min(float64(p.done)/float64(p.total), 1)
		bar := strings.Repeat("=", int(frac*width)) + strings.Repeat(" ", width-int(frac*width))
		fmt.Fprintf(p.out, "\r%s [%s] %5.1f%% %.1f/%.1f MB %.1f MB/s", p.label, bar, 100*frac, float64(p.done)/1e6, float64(p.total)/1e6, rate)
	} else {
		fmt.Fprintf(p.out, "\r%s %.1f MB %.1f MB/s", p.label, float64(p.done)/1e6, rate)
	}
	if final {
		fmt.Fprintln(p.out)
	}
}
