// Package safetensors reads and writes the safetensors format of Hugging Face
// (https://github.com/huggingface/safetensors): an 8-byte little-endian header length N, N bytes of JSON that
// map each tensor name to its dtype, shape and byte range, then the raw little-endian data.
//
// Reading is lazy: Open parses and checks the header only, and each tensor is read with ReadAt straight into
// the tensor's own buffer, so loading a file needs about its size in memory, never twice. Every byte range,
// dtype and shape is checked against the file before anything is read: a truncated file, a header that lies
// about offsets or sizes, or an unknown dtype gives an error naming the file and the key.
package safetensors

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"slices"
	"sort"
	"strings"

	"github.com/gomlx/compute/dtypes"
)

// MaxHeaderSize is the largest header accepted (the reference implementation's limit, 100 MB).
const MaxHeaderSize = 100_000_000

// MetadataKey is the reserved header key that holds free-form string metadata.
const MetadataKey = "__metadata__"

// dtypeNames maps the safetensors dtype names to GoMLX dtypes. FP8 and other types without a GoMLX
// counterpart are rejected with an error naming the key.
var dtypeNames = map[string]dtypes.DType{
	"BOOL": dtypes.Bool,
	"U8":   dtypes.Uint8, "I8": dtypes.Int8,
	"U16": dtypes.Uint16, "I16": dtypes.Int16,
	"U32": dtypes.Uint32, "I32": dtypes.Int32,
	"U64": dtypes.Uint64, "I64": dtypes.Int64,
	"F16": dtypes.Float16, "BF16": dtypes.BFloat16,
	"F32": dtypes.Float32, "F64": dtypes.Float64,
}

// DTypeFromName returns the GoMLX dtype of a safetensors dtype name ("F32", "BF16", ...).
func DTypeFromName(name string) (dtypes.DType, error) {
	if dt, ok := dtypeNames[name]; ok {
		return dt, nil
	}
	return dtypes.InvalidDType, fmt.Errorf("unsupported dtype %q (supported: BOOL, U8, I8, U16, I16, U32, I32, U64, I64, F16, BF16, F32, F64)", name)
}

// NameOfDType returns the safetensors name of a GoMLX dtype, or an error for dtypes the format lacks.
func NameOfDType(dt dtypes.DType) (string, error) {
	for name, d := range dtypeNames {
		if d == dt {
			return name, nil
		}
	}
	return "", fmt.Errorf("dtype %s has no safetensors name", dt)
}

// TensorInfo describes one tensor of a file, as its header says.
type TensorInfo struct {
	// Name is the key of the tensor in the header.
	Name string
	// DType is the GoMLX dtype of the data; DTypeName the safetensors spelling ("F32").
	DType     dtypes.DType
	DTypeName string
	// Shape lists the dimensions (empty for a scalar).
	Shape []int
	// Begin and End are the byte range of the data, relative to the start of the data section.
	Begin, End int64
}

// Size returns the number of elements of the tensor.
func (t TensorInfo) Size() int {
	n := 1
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// Header is the parsed and checked header of a safetensors file.
type Header struct {
	// Tensors by name.
	Tensors map[string]TensorInfo
	// Metadata is the optional "__metadata__" string map.
	Metadata map[string]string
	// DataSize is the size of the data section the tensors cover (the largest End).
	DataSize int64
}

// Names returns the tensor names in sorted order.
func (h *Header) Names() []string { return slices.Sorted(maps.Keys(h.Tensors)) }

// rawTensor is the JSON form of a header entry.
type rawTensor struct {
	DType       *string  `json:"dtype"`
	Shape       *[]int64 `json:"shape"`
	DataOffsets *[]int64 `json:"data_offsets"`
}

// ParseHeader parses and checks the JSON header of a safetensors file whose data section (what follows the
// header) has dataSize bytes; dataSize < 0 skips the checks against the data size. It checks that every entry
// has a known dtype, a non-negative shape and a byte range that matches the shape exactly, lies inside the data
// section and overlaps no other tensor; duplicate keys are errors. It never panics, whatever the input.
func ParseHeader(header []byte, dataSize int64) (*Header, error) {
	header = bytes.TrimRight(header, " \x00") // The format pads the header with spaces to 8-byte alignment.
	if len(header) == 0 || header[0] != '{' {
		return nil, errors.New("header is not a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(header))
	dec.UseNumber()
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, fmt.Errorf("header is not a JSON object: %v", err)
	}
	h := &Header{Tensors: map[string]TensorInfo{}}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("bad header JSON: %w", err)
		}
		key, ok := tok.(string)
		if !ok {
			return nil, fmt.Errorf("bad header JSON: key %v is not a string", tok)
		}
		if seen[key] {
			return nil, fmt.Errorf("key %q appears twice in the header", key)
		}
		seen[key] = true
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, fmt.Errorf("key %q: bad header JSON: %w", key, err)
		}
		if key == MetadataKey {
			if err := json.Unmarshal(raw, &h.Metadata); err != nil {
				return nil, fmt.Errorf("%s must map strings to strings: %w", MetadataKey, err)
			}
			continue
		}
		info, err := parseEntry(key, raw)
		if err != nil {
			return nil, err
		}
		h.Tensors[key] = info
	}
	if _, err := dec.Token(); err != nil { // The closing '}'.
		return nil, fmt.Errorf("bad header JSON: %w", err)
	}
	if rest, _ := io.ReadAll(dec.Buffered()); len(bytes.TrimSpace(rest)) > 0 || dec.More() {
		return nil, errors.New("bad header JSON: data after the closing brace")
	}

	// Byte ranges: inside the data section and disjoint.
	infos := make([]TensorInfo, 0, len(h.Tensors))
	for _, info := range h.Tensors {
		infos = append(infos, info)
		if info.End > h.DataSize {
			h.DataSize = info.End
		}
	}
	sort.Slice(infos, func(i, j int) bool {
		if infos[i].Begin != infos[j].Begin {
			return infos[i].Begin < infos[j].Begin
		}
		return infos[i].Name < infos[j].Name
	})
	for i := 1; i < len(infos); i++ {
		if infos[i].Begin < infos[i-1].End {
			return nil, fmt.Errorf("tensor %q (bytes %d-%d) overlaps tensor %q (bytes %d-%d)", infos[i].Name,
				infos[i].Begin, infos[i].End, infos[i-1].Name, infos[i-1].Begin, infos[i-1].End)
		}
	}
	if dataSize >= 0 && h.DataSize > dataSize {
		var last TensorInfo
		for _, info := range infos {
			if info.End > dataSize {
				last = info
				break
			}
		}
		return nil, fmt.Errorf("truncated file: tensor %q needs data bytes %d-%d but the file has only %d data bytes",
			last.Name, last.Begin, last.End, dataSize)
	}
	return h, nil
}

// parseEntry checks one tensor entry of the header.
func parseEntry(key string, raw json.RawMessage) (TensorInfo, error) {
	var rt rawTensor
	if err := json.Unmarshal(raw, &rt); err != nil {
		return TensorInfo{}, fmt.Errorf("tensor %q: bad header entry: %w", key, err)
	}
	if rt.DType == nil || rt.Shape == nil || rt.DataOffsets == nil {
		return TensorInfo{}, fmt.Errorf("tensor %q: header entry needs dtype, shape and data_offsets", key)
	}
	dt, err := DTypeFromName(*rt.DType)
	if err != nil {
		return TensorInfo{}, fmt.Errorf("tensor %q: %w", key, err)
	}
	info := TensorInfo{Name: key, DType: dt, DTypeName: *rt.DType}
	size := int64(1)
	for _, d := range *rt.Shape {
		if d < 0 || d > math.MaxInt32 {
			return TensorInfo{}, fmt.Errorf("tensor %q: bad dimension %d in shape %v", key, d, *rt.Shape)
		}
		if d > 0 && size > math.MaxInt64/8/d {
			return TensorInfo{}, fmt.Errorf("tensor %q: shape %v is too large", key, *rt.Shape)
		}
		size *= d
		info.Shape = append(info.Shape, int(d))
	}
	if info.Shape == nil {
		info.Shape = []int{}
	}
	offsets := *rt.DataOffsets
	if len(offsets) != 2 {
		return TensorInfo{}, fmt.Errorf("tensor %q: data_offsets must have 2 values, got %v", key, offsets)
	}
	info.Begin, info.End = offsets[0], offsets[1]
	if info.Begin < 0 || info.End < info.Begin {
		return TensorInfo{}, fmt.Errorf("tensor %q: bad data_offsets [%d, %d]", key, info.Begin, info.End)
	}
	want := size * int64(dt.Size())
	if info.End-info.Begin != want {
		return TensorInfo{}, fmt.Errorf("tensor %q: data_offsets [%d, %d] hold %d bytes, but %s%v needs %d",
			key, info.Begin, info.End, info.End-info.Begin, *rt.DType, info.Shape, want)
	}
	return info, nil
}

// File is an open safetensors file whose header has been read and checked. Tensors are read on demand.
type File struct {
	// Path is the file name, used in errors.
	Path string
	// Header is the parsed header.
	*Header

	f          *os.File
	dataOffset int64
}

// Open opens path and reads and checks its header against the file size. Close the File when done.
func Open(path string) (*File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	file, err := newFile(path, f)
	if err != nil {
		_ = f.Close()
		return nil, err
	}
	return file, nil
}

func newFile(path string, f *os.File) (*File, error) {
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	var lenBytes [8]byte
	if _, err := io.ReadFull(f, lenBytes[:]); err != nil {
		return nil, fmt.Errorf("%s: not a safetensors file: too short (%d bytes)", path, st.Size())
	}
	n := binary.LittleEndian.Uint64(lenBytes[:])
	if n > MaxHeaderSize {
		return nil, fmt.Errorf("%s: not a safetensors file: header length %d exceeds %d", path, n, MaxHeaderSize)
	}
	if int64(n) > st.Size()-8 {
		return nil, fmt.Errorf("%s: truncated safetensors file: header length %d but only %d bytes follow", path, n, st.Size()-8)
	}
	header := make([]byte, n)
	if _, err := io.ReadFull(f, header); err != nil {
		return nil, fmt.Errorf("%s: reading the header: %w", path, err)
	}
	h, err := ParseHeader(header, st.Size()-8-int64(n))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &File{Path: path, Header: h, f: f, dataOffset: 8 + int64(n)}, nil
}

// Close closes the file.
func (f *File) Close() error { return f.f.Close() }

// Info returns the header entry of a tensor.
func (f *File) Info(name string) (TensorInfo, bool) {
	info, ok := f.Tensors[name]
	return info, ok
}

// ReadBytes reads the raw little-endian data of tensor name into dst, which must have exactly its byte size.
func (f *File) ReadBytes(name string, dst []byte) error {
	info, ok := f.Tensors[name]
	if !ok {
		return fmt.Errorf("%s: no tensor %q", f.Path, name)
	}
	if int64(len(dst)) != info.End-info.Begin {
		return fmt.Errorf("%s: tensor %q has %d bytes, buffer has %d", f.Path, name, info.End-info.Begin, len(dst))
	}
	if _, err := f.f.ReadAt(dst, f.dataOffset+info.Begin); err != nil {
		return fmt.Errorf("%s: reading tensor %q: %w", f.Path, name, err)
	}
	return nil
}

// ReadFloat32 reads a floating-point tensor (F16, BF16, F32 or F64) converted to float32, with its shape.
func (f *File) ReadFloat32(name string) ([]float32, []int, error) {
	return f.ReadFloat32Into(name, nil)
}

// ReadFloat32Into is ReadFloat32 reusing buf's memory when it is large enough.
func (f *File) ReadFloat32Into(name string, buf []float32) ([]float32, []int, error) {
	info, ok := f.Tensors[name]
	if !ok {
		return nil, nil, fmt.Errorf("%s: no tensor %q", f.Path, name)
	}
	if !info.DType.IsFloat() {
		return nil, nil, fmt.Errorf("%s: tensor %q has dtype %s, want a float type", f.Path, name, info.DTypeName)
	}
	n := info.Size()
	if cap(buf) < n {
		buf = make([]float32, n)
	}
	out := buf[:n]
	if info.DType == dtypes.Float32 {
		if err := f.ReadBytes(name, float32Bytes(out)); err != nil {
			return nil, nil, err
		}
		return out, info.Shape, nil
	}
	raw := make([]byte, info.End-info.Begin)
	if err := f.ReadBytes(name, raw); err != nil {
		return nil, nil, err
	}
	if err := DecodeFloat32(info.DType, raw, out); err != nil {
		return nil, nil, fmt.Errorf("%s: tensor %q: %w", f.Path, name, err)
	}
	return out, info.Shape, nil
}

// NamesWithPrefix returns the sorted tensor names that start with prefix.
func (h *Header) NamesWithPrefix(prefix string) []string {
	var names []string
	for _, name := range h.Names() {
		if strings.HasPrefix(name, prefix) {
			names = append(names, name)
		}
	}
	return names
}
