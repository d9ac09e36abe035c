package weights

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/core/tensors/numpy"
	"github.com/vitnb/vitnb/vitnb/weights/safetensors"
)

// pickleAdvice is what a PyTorch pickle gets.
const pickleAdvice = "a PyTorch pickle (.bin/.pth): only .npz and .safetensors are read; download model.safetensors " +
	"or convert with safetensors.torch.save_file(torch.load(FILE), OUT)"

// source is a checkpoint file opened for lazy reading: names, shapes and dtypes come from its index, data is
// read one tensor at a time.
type source interface {
	keys() []string
	shape(key string) []int
	dtype(key string) string
	// read returns the values of a floating-point tensor converted to float32, in buf if it is large enough.
	read(key string, buf []float32) ([]float32, error)
	// metadata returns the file's string metadata (safetensors' __metadata__), nil if none.
	metadata() map[string]string
	close() error
}

// openSource detects the container (a zip = .npz, else safetensors) and opens it.
func openSource(path string) (source, string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, "", err
	}
	if st, err := f.Stat(); err == nil && !st.Mode().IsRegular() {
		_ = f.Close()
		what := "a device, a pipe or a socket"
		if st.IsDir() {
			what = "a folder: give the weights file in it (model.safetensors or .npz)"
		}
		return nil, "", fmt.Errorf("%s is not a weights file but %s", path, what)
	}
	var magic [8]byte
	n, _ := io.ReadFull(f, magic[:])
	_ = f.Close()
	switch {
	case n >= 4 && string(magic[:4]) == "PK\x03\x04":
		s, err := openNpz(path)
		return s, "npz", err
	case n >= 6 && string(magic[:6]) == "\x93NUMPY":
		return nil, "", fmt.Errorf("%s: a single .npy array, not a checkpoint: pass the .npz file", path)
	case n >= 2 && magic[0] == 0x80 && magic[1] >= 2 && magic[1] <= 5:
		return nil, "", fmt.Errorf("%s: %s", path, pickleAdvice)
	}
	st, err := safetensors.Open(path)
	if err != nil {
		ext := strings.ToLower(filepath.Ext(path))
		if ext == ".bin" || ext == ".pth" || ext == ".pt" || ext == ".ckpt" {
			return nil, "", fmt.Errorf("%s: %s", path, pickleAdvice)
		}
		return nil, "", fmt.Errorf("neither an .npz (zip) nor a readable safetensors file: %w", err)
	}
	return &safetensorsSource{st}, "safetensors", nil
}

type safetensorsSource struct{ f *safetensors.File }

func (s *safetensorsSource) keys() []string              { return s.f.Names() }
func (s *safetensorsSource) shape(key string) []int      { return s.f.Tensors[key].Shape }
func (s *safetensorsSource) dtype(key string) string     { return s.f.Tensors[key].DTypeName }
func (s *safetensorsSource) close() error                { return s.f.Close() }
func (s *safetensorsSource) metadata() map[string]string { return s.f.Metadata }
func (s *safetensorsSource) read(key string, buf []float32) ([]float32, error) {
	data, _, err := s.f.ReadFloat32Into(key, buf)
	return data, err
}

// npzSource reads a NumPy .npz archive entry by entry with GoMLX's numpy package. Each entry's .npy header is
// parsed first and checked against the entry's size, so a header that lies cannot make the reader allocate.
type npzSource struct {
	path    string
	file    *os.File
	entries map[string]*zip.File
	infos   map[string]npyInfo
}

type npyInfo struct {
	descr string
	shape []int
}

func openNpz(path string) (*npzSource, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return nil, err
	}
	zr, err := zip.NewReader(f, st.Size())
	if err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("%s: bad or truncated .npz (zip) file: %w", path, err)
	}
	s := &npzSource{path: path, file: f, entries: map[string]*zip.File{}, infos: map[string]npyInfo{}}
	for _, e := range zr.File {
		if !strings.HasSuffix(e.Name, ".npy") {
			continue
		}
		key := strings.TrimSuffix(e.Name, ".npy")
		// Sizes the archive claims must be possible for this file (deflate expands at most ~1032x), so that a
		// corrupt directory cannot make the reader allocate what the file cannot hold.
		if e.CompressedSize64 > uint64(st.Size()) || e.UncompressedSize64 > 1100*e.CompressedSize64+1024 ||
			(e.Method == zip.Store && e.UncompressedSize64 != e.CompressedSize64) {
			_ = f.Close()
			return nil, fmt.Errorf("%s: key %q: corrupt .npz: entry sizes %d (stored) / %d (data) do not fit a %d-byte file",
				path, key, e.CompressedSize64, e.UncompressedSize64, st.Size())
		}
		info, err := readNpyInfo(e)
		if err != nil {
			_ = f.Close()
			return nil, fmt.Errorf("%s: key %q: %w", path, key, err)
		}
		s.entries[key] = e
		s.infos[key] = info
	}
	if len(s.entries) == 0 {
		_ = f.Close()
		for _, e := range zr.File {
			if strings.HasSuffix(e.Name, "data.pkl") {
				return nil, fmt.Errorf("%s: %s", path, pickleAdvice)
			}
		}
		return nil, fmt.Errorf("%s: a zip file without .npy arrays, not an .npz checkpoint", path)
	}
	return s, nil
}

var (
	npyDescrRe = regexp.MustCompile(`'descr'\s*:\s*'([^']*)'`)
	npyShapeRe = regexp.MustCompile(`'shape'\s*:\s*\(([^)]*)\)`)
)

// readNpyInfo parses the header of one .npy entry and checks that the data it announces is what the entry holds.
func readNpyInfo(e *zip.File) (npyInfo, error) {
	rc, err := e.Open()
	if err != nil {
		return npyInfo{}, err
	}
	defer func() { _ = rc.Close() }()
	var pre [12]byte
	if _, err := io.ReadFull(rc, pre[:10]); err != nil || string(pre[:6]) != "\x93NUMPY" {
		return npyInfo{}, errors.New("not a .npy array (bad magic or truncated)")
	}
	headerLen, prefix := int(pre[8])|int(pre[9])<<8, 10
	if pre[6] >= 2 {
		if _, err := io.ReadFull(rc, pre[10:12]); err != nil {
			return npyInfo{}, errors.New("truncated .npy header")
		}
		headerLen, prefix = int(pre[8])|int(pre[9])<<8|int(pre[10])<<16|int(pre[11])<<24, 12
	}
	if headerLen <= 0 || headerLen > 1<<16 {
		return npyInfo{}, fmt.Errorf("bad .npy header length %d", headerLen)
	}
	header := make([]byte, headerLen)
	if _, err := io.ReadFull(rc, header); err != nil {
		return npyInfo{}, errors.New("truncated .npy header")
	}
	m := npyDescrRe.FindSubmatch(header)
	sm := npyShapeRe.FindSubmatch(header)
	if m == nil || sm == nil {
		return npyInfo{}, fmt.Errorf("unreadable .npy header %q", bytes.TrimSpace(header))
	}
	info := npyInfo{descr: string(m[1]), shape: []int{}}
	size := int64(1)
	for _, part := range strings.Split(string(sm[1]), ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		d, err := strconv.Atoi(part)
		if err != nil || d < 0 || d > 1<<31 {
			return npyInfo{}, fmt.Errorf("bad dimension %q in .npy header", part)
		}
		info.shape = append(info.shape, d)
		size *= int64(d)
		if size > 1<<40 {
			return npyInfo{}, errors.New("array too large")
		}
	}
	itemSize, err := strconv.Atoi(strings.TrimLeft(info.descr, "<>|=fiucb"))
	if err != nil || len(info.descr) < 2 {
		return npyInfo{}, fmt.Errorf("unsupported dtype %q", info.descr)
	}
	if strings.HasPrefix(info.descr, ">") && itemSize > 1 {
		return npyInfo{}, fmt.Errorf("big-endian dtype %q is not supported", info.descr)
	}
	if want := int64(prefix+headerLen) + size*int64(itemSize); uint64(want) != e.UncompressedSize64 {
		return npyInfo{}, fmt.Errorf("header says %s%v (%d bytes with the header) but the entry has %d bytes: truncated or corrupt",
			info.descr, info.shape, want, e.UncompressedSize64)
	}
	return info, nil
}

func (s *npzSource) keys() []string              { return slices.Sorted(maps.Keys(s.entries)) }
func (s *npzSource) shape(key string) []int      { return s.infos[key].shape }
func (s *npzSource) dtype(key string) string     { return s.infos[key].descr }
func (s *npzSource) close() error                { return s.file.Close() }
func (s *npzSource) metadata() map[string]string { return nil }

func (s *npzSource) read(key string, buf []float32) (data []float32, err error) {
	e, ok := s.entries[key]
	if !ok {
		return nil, fmt.Errorf("%s: no key %q", s.path, key)
	}
	defer func() { // GoMLX's tensors panic on some invalid input; never let it reach the user.
		if r := recover(); r != nil {
			data, err = nil, fmt.Errorf("%s: key %q: reading .npy: %v", s.path, key, r)
		}
	}()
	rc, err := e.Open()
	if err != nil {
		return nil, fmt.Errorf("%s: key %q: %w", s.path, key, err)
	}
	defer func() { _ = rc.Close() }()
	t, err := numpy.FromNpyReader(rc)
	if err != nil {
		return nil, fmt.Errorf("%s: key %q: %w", s.path, key, err)
	}
	defer func() { _ = t.FinalizeAll() }()
	return tensorToFloat32Into(t, buf)
}

// tensorToFloat32 copies a float tensor's values as float32.
func tensorToFloat32(t *tensors.Tensor) ([]float32, error) { return tensorToFloat32Into(t, nil) }

// tensorToFloat32Into is tensorToFloat32 reusing buf when it is large enough.
func tensorToFloat32Into(t *tensors.Tensor, buf []float32) ([]float32, error) {
	dt := t.DType()
	if !dt.IsFloat() {
		return nil, fmt.Errorf("dtype %s is not a float type", dt)
	}
	if cap(buf) < t.Size() {
		buf = make([]float32, t.Size())
	}
	out := buf[:t.Size()]
	var err error
	accessErr := t.ConstBytes(func(data []byte) {
		err = safetensors.DecodeFloat32(dt, data, out)
	})
	if accessErr != nil {
		return nil, accessErr
	}
	return out, err
}

// toTensor makes a tensor of dtype dt with the given float32 values.
func toTensor(data []float32, dims []int, dt dtypes.DType) (*tensors.Tensor, error) {
	if dt == dtypes.InvalidDType {
		dt = dtypes.Float32
	}
	out := tensors.FromShape(shapes.Make(dt, dims...))
	var convErr error
	err := out.MutableFlatData(func(flat any) {
		switch v := flat.(type) {
		case []float32:
			copy(v, data)
		case []float64:
			for i, x := range data {
				v[i] = float64(x)
			}
		default:
			convErr = convertHalf(flat, data)
		}
	})
	if err == nil {
		err = convErr
	}
	if err != nil {
		_ = out.FinalizeAll()
		return nil, fmt.Errorf("converting to %s: %w", dt, err)
	}
	return out, nil
}

// reader reads source tensors into a reused buffer, remembers the last one (timm's qkv feeds three
// variables) and collects the garbage of decoders that allocate (GoMLX's .npy reader) every 64 MB, so that
// the heap never holds the checkpoint twice.
type reader struct {
	src     source
	path    string
	lastKey string
	buf     []float32
	garbage int
}

func (r *reader) read(key string) ([]float32, error) {
	if key == r.lastKey {
		return r.buf, nil
	}
	r.lastKey = ""
	old := cap(r.buf)
	data, err := r.src.read(key, r.buf)
	if err != nil {
		if !strings.Contains(err.Error(), r.path) {
			err = fmt.Errorf("%s: key %q: %w", r.path, key, err)
		}
		return nil, err
	}
	if cap(data) != old {
		r.garbage += 4 * old // The buffer was too small and replaced.
	}
	if _, ok := r.src.(*npzSource); ok {
		r.garbage += 4 * len(data) // The GoMLX tensor it was copied from.
	}
	if r.garbage > 64<<20 {
		runtime.GC()
		r.garbage = 0
	}
	r.buf, r.lastKey = data, key
	return data, nil
}
