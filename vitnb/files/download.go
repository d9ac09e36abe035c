package files

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

// RemoteFile is one published file: a data set's archive, a checkpoint's weights or its config.json. Its JSON
// form (in `vit weights list -json`) uses the field names.
type RemoteFile struct {
	// Name is the file name in its cache folder.
	Name string
	// URL is the official download address (for Manual files, the page that says how to get it).
	URL string
	// Size in bytes, 0 when unknown (then the server's Content-Length is checked).
	Size int64
	// MD5 and SHA256 are hex digests of the file as published, "" when unknown (then the server's X-Linked-Etag
	// or x-goog-hash is checked when it sends one).
	MD5    string
	SHA256 string
	// RawMD5 is the MD5 of the decompressed content of a .gz file, which also identifies re-compressed copies
	// (Debian re-gzipped Fashion-MNIST).
	RawMD5 string
	// Manual marks files that cannot be downloaded automatically.
	Manual bool
	// Optional files (preprocessor_config.json) are skipped when the server does not have them.
	Optional bool
	// MaxSize, when Size is unknown, bounds the download in bytes (MaxSidecarSize for a config.json): a server that
	// sends more is cut off while it streams and the .part removed. 0: no bound but what the server announces.
	MaxSize int64
	// Check, if not nil, checks the format of the file (e.g. a safetensors header against the file size); it
	// runs before the rename, and on cached files (see CheckCached).
	Check func(path string) error `json:"-"`
}

// ErrMismatch is wrapped by the errors of a file whose size, checksum or format is not the published one.
var ErrMismatch = errors.New("MISMATCH")

// Downloader fetches files over HTTP.
type Downloader struct {
	// Client is the HTTP client; nil means http.DefaultClient's settings.
	Client *http.Client
	// Progress receives a progress line updated in place ("\r"); nil for none.
	Progress io.Writer
	// Label names the download in the progress line (default: the file name).
	Label string
}

// Download fetches f from url (f.URL when url is "") into dest. It writes dest+".part" in the same folder, resumes
// a previous .part with an HTTP Range request, and renames the .part into place only when its size and checksum
// (f.Size, f.SHA256, f.MD5, else the server's X-Linked-Size, X-Linked-Etag, x-goog-hash) and format (f.Check)
// verify; then it stamps the file (see CheckCached). A .part larger than the remote file, a server that resumes
// at another offset, or a resumed file that does not verify are discarded and fetched again from the start, once;
// a fresh download that does not verify is removed. A broken transfer keeps the .part for the next call. Cancelling
// ctx stops the transfer (the .part is kept). A download never leaves less than DiskReserve free on its disk.
func (d *Downloader) Download(ctx context.Context, url, dest string, f RemoteFile) error {
	if url == "" {
		url = f.URL
	}
	if err := CheckCache(dest); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
		return fmt.Errorf("downloading %s: %w", url, err)
	}
	part := dest + ".part"
	if st, err := os.Stat(part); err == nil && f.Size > 0 && st.Size() > f.Size {
		if err := os.Remove(part); err != nil {
			return fmt.Errorf("downloading %s: removing the stale %s: %w", url, part, err)
		}
	}
	resumed, hdr, err := d.transfer(ctx, url, part, f)
	if err != nil && !errors.Is(err, errRestart) {
		return err
	}
	if err == nil {
		sum, verr := verify(part, f, hdr)
		switch {
		case verr == nil:
			return finish(part, dest, url, sum)
		case !resumed:
			_ = os.Remove(part)
			return fmt.Errorf("downloading %s: %w (the download was removed)", url, verr)
		}
	}
	// A stale .part or one with a foreign prefix: never accepted, fetched again from the start.
	if err := os.Remove(part); err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("downloading %s: removing %s: %w", url, part, err)
	}
	if _, hdr, err = d.transfer(ctx, url, part, f); err != nil {
		return err
	}
	sum, err := verify(part, f, hdr)
	if err != nil {
		_ = os.Remove(part)
		return fmt.Errorf("downloading %s: %w (the download was removed)", url, err)
	}
	return finish(part, dest, url, sum)
}

// finish renames a verified .part into place and stamps it.
func finish(part, dest, url string, sum *checksum) error {
	if err := os.Rename(part, dest); err != nil {
		return fmt.Errorf("downloading %s: %w", url, err)
	}
	syncDir(filepath.Dir(dest))
	return writeStamp(dest, sum, false)
}

// DiskReserve is the free space a download leaves on its disk: one that would need more is refused before it
// starts, and one of unknown size (an endless body that announces none) stops there and is removed.
const DiskReserve = 256 << 20

// diskFree is freeSpace, a variable so that tests can fake a nearly full disk.
var diskFree = freeSpace

// errDiskFull stops a download that reached DiskReserve.
var errDiskFull = errors.New("the disk is nearly full")

// diskGuard is a writer beside a download's file that checks the free space of its folder every diskCheckEvery
// bytes and fails with errDiskFull below DiskReserve.
type diskGuard struct {
	dir     string
	pending int64
}

// diskCheckEvery is how many bytes a diskGuard lets through between two checks.
const diskCheckEvery = 8 << 20

// Write implements io.Writer.
func (g *diskGuard) Write(b []byte) (int, error) {
	g.pending += int64(len(b))
	if g.pending >= diskCheckEvery {
		g.pending = 0
		if free, ok := diskFree(g.dir); ok && free < DiskReserve {
			return 0, errDiskFull
		}
	}
	return len(b), nil
}

// errRestart says that the .part cannot be resumed and must be fetched from the start.
var errRestart = errors.New("restart")

// transfer appends to part what the server has beyond it (everything when part is absent). resumed tells whether
// bytes were kept from an earlier .part; hdr holds the response headers (those of a Hugging Face redirect when
// there is one).
func (d *Downloader) transfer(ctx context.Context, url, part string, f RemoteFile) (resumed bool, hdr http.Header,
	err error) {
	client := http.Client{}
	if d.Client != nil {
		client = *d.Client
	}
	// Hugging Face redirects LFS files to a CDN: the size and SHA-256 are in the headers of the redirect.
	var linked http.Header
	client.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if req.Response != nil && linked == nil && req.Response.Header.Get("X-Linked-Etag") != "" {
			linked = req.Response.Header.Clone()
		}
		if len(via) >= 10 {
			return errors.New("too many redirects")
		}
		return nil
	}
	var have int64
	if st, err := os.Stat(part); err == nil {
		have = st.Size()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return false, nil, fmt.Errorf("downloading %s: %w", url, err)
	}
	if have > 0 {
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-", have))
	}
	resp, err := client.Do(req)
	if err != nil {
		return false, nil, fmt.Errorf("downloading %s: %w", url, err)
	}
	defer func() { _ = resp.Body.Close() }()
	hdr = resp.Header
	if linked != nil {
		hdr = linked
	}
	total := int64(-1)
	flags := os.O_CREATE | os.O_WRONLY
	switch {
	case resp.StatusCode == http.StatusPartialContent && have > 0:
		start, _, size, ok := parseContentRange(resp.Header.Get("Content-Range"))
		if !ok || start != have || (size >= 0 && size < have) {
			return false, nil, errRestart
		}
		total, flags, resumed = size, flags|os.O_APPEND, true
	case resp.StatusCode == http.StatusRequestedRangeNotSatisfiable && have > 0:
		// "bytes */SIZE": the .part is complete when SIZE is its size; larger (stale) or unknown, start again.
		if size, err := strconv.ParseInt(strings.TrimPrefix(resp.Header.Get("Content-Range"), "bytes */"), 10,
			64); err == nil && size == have {
			return true, hdr, nil
		}
		return false, nil, errRestart
	case resp.StatusCode == http.StatusOK:
		have, flags = 0, flags|os.O_TRUNC
		total = resp.ContentLength
	default:
		return false, nil, fmt.Errorf("downloading %s: HTTP %s", url, resp.Status)
	}
	if total < 0 {
		if s, err := strconv.ParseInt(hdr.Get("X-Linked-Size"), 10, 64); err == nil {
			total = s
		}
	}
	if f.Size > 0 && total >= 0 && total != f.Size {
		return false, nil, fmt.Errorf("downloading %s: the server announces %d bytes, the catalog says %d: %w", url,
			total, f.Size, ErrMismatch)
	}
	// Never more than the catalog or the server announced, nor than MaxSize: an endless body stops here.
	limit := int64(-1)
	for _, l := range []int64{f.Size, total, f.MaxSize} {
		if l > 0 && (limit < 0 || l < limit) {
			limit = l
		}
	}
	dir := filepath.Dir(part)
	if free, ok := diskFree(dir); ok && limit >= 0 && limit-have > free-DiskReserve {
		return false, nil, fmt.Errorf("downloading %s: %s to write, but %s holds %s free and vitnb leaves %s of it",
			url, FormatBytes(float64(limit-have)), dir, FormatBytes(float64(free)), FormatBytes(DiskReserve))
	}
	out, err := os.OpenFile(part, flags, 0o644)
	if err != nil {
		return false, nil, fmt.Errorf("downloading %s: %w", url, err)
	}
	label := d.Label
	if label == "" {
		label = filepath.Base(strings.TrimSuffix(part, ".part"))
	}
	bar := &progress{out: d.Progress, label: label, done: have, total: total, start: time.Now(), startDone: have}
	body := io.Reader(resp.Body)
	if limit >= 0 {
		body = io.LimitReader(resp.Body, limit-have+1)
	}
	n, copyErr := io.Copy(io.MultiWriter(out, bar, &diskGuard{dir: dir}), body)
	bar.print(true)
	if err := out.Close(); copyErr == nil {
		copyErr = err
	}
	if errors.Is(copyErr, errDiskFull) {
		_ = os.Remove(part)
		return false, nil, fmt.Errorf("downloading %s: stopped after %s, with less than %s left free in %s (the "+
			"download was removed): %w", url, FormatBytes(float64(have+n)), FormatBytes(DiskReserve), dir, copyErr)
	}
	if limit >= 0 && have+n > limit {
		_ = os.Remove(part)
		return false, nil, fmt.Errorf("downloading %s: the server sent more than %d bytes, more than the file may have "+
			"(the download was removed): %w", url, limit, ErrMismatch)
	}
	if copyErr != nil {
		return false, nil, fmt.Errorf("downloading %s: %w (the partial file %s is kept: run again to resume)", url,
			copyErr, part)
	}
	if total >= 0 && have+n != total {
		return false, nil, fmt.Errorf("downloading %s: got %d of %d bytes (the partial file %s is kept: run again to "+
			"resume)", url, have+n, total, part)
	}
	return resumed, hdr, nil
}

// checksum is an expected digest: its algorithm, value and where it came from.
type checksum struct {
	Algo, Hex, From string
}

var sha256Re = regexp.MustCompile(`^"?([0-9a-f]{64})"?$`)

// expected lists the digests to check: the published ones, else what the server says.
func expected(f RemoteFile, h http.Header) []checksum {
	var sums []checksum
	if f.SHA256 != "" {
		sums = append(sums, checksum{"sha256", strings.ToLower(f.SHA256), "the published checksum"})
	}
	if f.MD5 != "" {
		sums = append(sums, checksum{"md5", strings.ToLower(f.MD5), "the published checksum"})
	}
	if len(sums) > 0 || h == nil {
		return sums
	}
	if m := sha256Re.FindStringSubmatch(strings.ToLower(h.Get("X-Linked-Etag"))); m != nil {
		return []checksum{{"sha256", m[1], "the server's X-Linked-Etag"}}
	}
	for _, v := range h.Values("X-Goog-Hash") {
		for _, p := range strings.Split(v, ",") {
			if b64, ok := strings.CutPrefix(strings.TrimSpace(p), "md5="); ok {
				if raw, err := base64.StdEncoding.DecodeString(b64); err == nil {
					return []checksum{{"md5", hex.EncodeToString(raw), "the server's x-goog-hash"}}
				}
			}
		}
	}
	return nil
}

// verify checks the size, the checksums (published, else the server's from h) and the format of path; it returns
// the checksum that matched (nil when none was known).
func verify(path string, f RemoteFile, h http.Header) (*checksum, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	want := f.Size
	if want <= 0 && h != nil {
		if s, err := strconv.ParseInt(h.Get("X-Linked-Size"), 10, 64); err == nil {
			want = s
		}
	}
	if want > 0 && st.Size() != want {
		return nil, fmt.Errorf("%d bytes, want %d: %w", st.Size(), want, ErrMismatch)
	}
	sums := expected(f, h)
	if len(sums) > 0 {
		got, err := digests(path)
		if err != nil {
			return nil, err
		}
		for _, s := range sums {
			if got[s.Algo] != s.Hex {
				return nil, fmt.Errorf("%s checksum %s does not match %s from %s: %w", s.Algo, got[s.Algo], s.Hex,
					s.From, ErrMismatch)
			}
		}
	}
	if f.Check != nil {
		if err := f.Check(path); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrMismatch, err)
		}
	}
	if len(sums) > 0 {
		return &sums[0], nil
	}
	return nil, nil
}

// digests returns the md5 and sha256 of a file, hex.
func digests(path string) (map[string]string, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer func() { _ = fh.Close() }()
	hs := map[string]hash.Hash{"md5": md5.New(), "sha256": sha256.New()}
	if _, err := io.Copy(io.MultiWriter(hs["md5"], hs["sha256"]), fh); err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	return map[string]string{"md5": hex.EncodeToString(hs["md5"].Sum(nil)),
		"sha256": hex.EncodeToString(hs["sha256"].Sum(nil))}, nil
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

// progress counts bytes and prints a progress line at most 5 times a second.
type progress struct {
	out         io.Writer
	label       string
	done, total int64
	start, last time.Time
	startDone   int64
}

// Write implements io.Writer.
func (p *progress) Write(b []byte) (int, error) {
	p.done += int64(len(b))
	if time.Since(p.last) > 200*time.Millisecond {
		p.print(false)
	}
	return len(b), nil
}

func (p *progress) print(final bool) {
	if p.out == nil {
		return
	}
	p.last = time.Now()
	rate := float64(p.done-p.startDone) / 1e6 / max(time.Since(p.start).Seconds(), 1e-3)
	const width = 30
	if p.total > 0 {
		frac := min(float64(p.done)/float64(p.total), 1)
		n := int(frac * width)
		fmt.Fprintf(p.out, "\r%s [%s%s] %5.1f%% %.1f/%.1f MB %.1f MB/s", p.label, strings.Repeat("=", n),
			strings.Repeat(" ", width-n), 100*frac, float64(p.done)/1e6, float64(p.total)/1e6, rate)
	} else {
		fmt.Fprintf(p.out, "\r%s %.1f MB %.1f MB/s", p.label, float64(p.done)/1e6, rate)
	}
	if final {
		fmt.Fprintln(p.out)
	}
}
