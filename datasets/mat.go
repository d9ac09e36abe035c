package datasets

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"

	"github.com/vitnb/vitnb/vitnb/files"
)

// MatArray is one numeric variable of a MATLAB .mat (level 5) file, such as "labels" in Flowers-102's
// imagelabels.mat or "trnid" in setid.mat.
type MatArray struct {
	Name string
	// Dims are the MATLAB dimensions, e.g. [1 8189].
	Dims []int
	// Values in column-major (MATLAB) order, converted to float64 whatever the stored type.
	Values []float64
}

// MAT-file level 5 data types and array classes, from MathWorks' "MAT-File Format" (matfile_format.pdf), tables
// 1-1 and 1-3.
const (
	miINT8       = 1
	miUINT8      = 2
	miINT16      = 3
	miUINT16     = 4
	miINT32      = 5
	miUINT32     = 6
	miSINGLE     = 7
	miDOUBLE     = 9
	miINT64      = 12
	miUINT64     = 13
	miMATRIX     = 14
	miCOMPRESSED = 15

	mxDOUBLE_CLASS = 6  //nolint:revive // name from the MAT-file specification.
	mxUINT64_CLASS = 15 //nolint:revive // name from the MAT-file specification.

	matHeaderLen = 128
	// maxMatInflate bounds how much a compressed element may expand to (Flowers' files hold a few KB), as
	// maxMATFileBytes bounds the file.
	maxMatInflate = maxMATFileBytes
	// maxMatDepth bounds nesting of compressed/matrix elements.
	maxMatDepth = 4
)

// ParseMAT reads the numeric arrays of a MATLAB level 5 .mat file (compressed or not, either byte order) and returns
// them by variable name. Arrays of other classes (cells, structs, chars, sparse) are skipped. name is used in error
// messages, which also give the byte offset of the bad element.
func ParseMAT(data []byte, name string) (map[string]*MatArray, error) {
	if len(data) < matHeaderLen {
		return nil, fmt.Errorf("%s: too short (%d bytes) for a MATLAB 5 .mat file, which has a 128-byte header",
			name, len(data))
	}
	var order binary.ByteOrder
	switch string(data[126:128]) {
	case "IM":
		order = binary.LittleEndian
	case "MI":
		order = binary.BigEndian
	default:
		if bytes.HasPrefix(data, []byte("\x89HDF")) || bytes.Contains(data[:matHeaderLen], []byte("MATLAB 7.3")) {
			return nil, fmt.Errorf("%s: MATLAB 7.3 (HDF5) .mat files are not supported; want a level 5 file", name)
		}
		return nil, fmt.Errorf("%s: wrong .mat magic: bytes 126-127 are %q, want \"IM\" or \"MI\" (not a MATLAB 5 "+
			"file?)", name, data[126:128])
	}
	if v := order.Uint16(data[124:126]); v != 0x0100 {
		return nil, fmt.Errorf("%s: .mat version 0x%04x not supported, want 0x0100", name, v)
	}
	p := &matParser{order: order, name: name, out: map[string]*MatArray{}}
	if err := p.elements(data[matHeaderLen:], matHeaderLen, 0); err != nil {
		return nil, err
	}
	return p.out, nil
}

type matParser struct {
	order binary.ByteOrder
	name  string
	out   map[string]*MatArray
}

// tag reads an element tag at data[0:]: the type, the data and the total length including padding.
func (p *matParser) tag(data []byte, offset int) (typ uint32, payload []byte, total int, err error) {
	if len(data) < 8 {
		return 0, nil, 0, fmt.Errorf("%s: element at byte %d truncated: %d bytes left, a tag needs 8",
			p.name, offset, len(data))
	}
	first := p.order.Uint32(data)
	if small := first >> 16; small != 0 {
		// Small data element format: the size is in the upper 16 bits, up to 4 bytes of data follow.
		if small > 4 {
			return 0, nil, 0, fmt.Errorf("%s: small element at byte %d claims %d bytes, at most 4 fit",
				p.name, offset, small)
		}
		return first & 0xffff, data[4 : 4+small], 8, nil
	}
	n := uint64(p.order.Uint32(data[4:]))
	if n > uint64(len(data)-8) {
		return 0, nil, 0, fmt.Errorf("%s: element at byte %d truncated: it claims %d bytes, %d are left",
			p.name, offset, n, len(data)-8)
	}
	total = 8 + int(n)
	if first != miCOMPRESSED {
		// Uncompressed elements are padded to 8 bytes; tolerate a missing pad at the end of the data.
		total = min((total+7)&^7, len(data))
	}
	return first, data[8 : 8+n], total, nil
}

// elements parses a sequence of top-level elements.
func (p *matParser) elements(data []byte, offset, depth int) error {
	for len(data) > 0 {
		typ, payload, total, err := p.tag(data, offset)
		if err != nil {
			return err
		}
		switch typ {
		case miCOMPRESSED:
			if depth >= maxMatDepth {
				return fmt.Errorf("%s: compressed elements nested too deep at byte %d", p.name, offset)
			}
			zr, err := zlib.NewReader(bytes.NewReader(payload))
			if err != nil {
				return fmt.Errorf("%s: compressed element at byte %d: %w", p.name, offset, err)
			}
			inflated, err := io.ReadAll(io.LimitReader(zr, maxMatInflate+1))
			if err != nil {
				return fmt.Errorf("%s: compressed element at byte %d is corrupt or truncated: %w", p.name, offset, err)
			}
			if len(inflated) > maxMatInflate {
				return fmt.Errorf("%s: compressed element at byte %d inflates to more than %d bytes",
					p.name, offset, maxMatInflate)
			}
			if err := p.elements(inflated, 0, depth+1); err != nil {
				return fmt.Errorf("inside compressed element at byte %d: %w", offset, err)
			}
		case miMATRIX:
			if err := p.matrix(payload, offset+8); err != nil {
				return err
			}
		default:
			// Other top-level elements carry no variable: skip.
		}
		data = data[total:]
		offset += total
	}
	return nil
}

// matrix parses the payload of an miMATRIX element: array flags, dimensions, name, real part.
func (p *matParser) matrix(data []byte, offset int) error {
	if len(data) == 0 {
		return nil // An empty matrix element is allowed by the format.
	}
	var sub [4][]byte
	var subType [4]uint32
	pos := 0
	for k := range sub {
		if pos >= len(data) {
			if k < 3 {
				return fmt.Errorf("%s: matrix at byte %d truncated: missing sub-element %d of 4", p.name, offset, k+1)
			}
			break
		}
		typ, payload, total, err := p.tag(data[pos:], offset+pos)
		if err != nil {
			return err
		}
		sub[k], subType[k] = payload, typ
		pos += total
	}
	if subType[0] != miUINT32 || len(sub[0]) < 4 {
		return fmt.Errorf("%s: matrix at byte %d: array flags element has type %d and %d bytes, want miUINT32, 8 bytes",
			p.name, offset, subType[0], len(sub[0]))
	}
	class := p.order.Uint32(sub[0]) & 0xff
	if subType[1] != miINT32 || len(sub[1])%4 != 0 || len(sub[1]) == 0 {
		return fmt.Errorf("%s: matrix at byte %d: dimensions element has type %d and %d bytes, want miINT32",
			p.name, offset, subType[1], len(sub[1]))
	}
	dims := make([]int, len(sub[1])/4)
	count := 1
	for i := range dims {
		d := int32(p.order.Uint32(sub[1][4*i:]))
		if d < 0 {
			return fmt.Errorf("%s: matrix at byte %d: negative dimension %d", p.name, offset, d)
		}
		dims[i] = int(d)
		if d != 0 && count > math.MaxInt32/int(d) {
			return fmt.Errorf("%s: matrix at byte %d: dimensions %v too large", p.name, offset, dims[:i+1])
		}
		count *= int(d)
	}
	name := string(sub[2])
	if class < mxDOUBLE_CLASS || class > mxUINT64_CLASS {
		return nil // Not a numeric array (cell, struct, object, char, sparse): skip.
	}
	if subType[3] == 0 && sub[3] == nil {
		return fmt.Errorf("%s: matrix %q at byte %d: missing real part", p.name, name, offset)
	}
	// The real part must hold exactly count values: checked before decoding them into 8 bytes each.
	if size := matTypeSize[subType[3]]; size > 0 && len(sub[3]) != count*size {
		return fmt.Errorf("%s: matrix %q at byte %d: dimensions %v need %d values, the real part has %d bytes of %d-byte values",
			p.name, name, offset, dims, count, len(sub[3]), size)
	}
	values, err := p.numbers(subType[3], sub[3])
	if err != nil {
		return fmt.Errorf("%s: matrix %q at byte %d: %w", p.name, name, offset, err)
	}
	if len(values) != count {
		return fmt.Errorf("%s: matrix %q at byte %d: dimensions %v need %d values, the real part has %d",
			p.name, name, offset, dims, count, len(values))
	}
	p.out[name] = &MatArray{Name: name, Dims: dims, Values: values}
	return nil
}

// matTypeSize is the size in bytes of each numeric data type of a MAT-file element.
var matTypeSize = map[uint32]int{miINT8: 1, miUINT8: 1, miINT16: 2, miUINT16: 2, miINT32: 4, miUINT32: 4, miSINGLE: 4,
	miDOUBLE: 8, miINT64: 8, miUINT64: 8}

// maxMATFileBytes bounds the size of the .mat files ReadMATFile reads: vitnb reads Flowers-102's imagelabels.mat
// (502 bytes) and setid.mat (15 kB), label and split lists far below this.
const maxMATFileBytes = 64 << 20

// ReadMATFile reads and parses a .mat file (see ParseMAT), refusing a file larger than any label or split list
// (64 MiB) before reading it.
func ReadMATFile(path string) (map[string]*MatArray, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if st.Size() > maxMATFileBytes {
		return nil, fmt.Errorf("%s: %d bytes, larger than the %d bytes a .mat label or split file can be", path, st.Size(), maxMATFileBytes)
	}
	data, err := files.ReadLimited(path, maxMATFileBytes) // the size a link to /dev/zero claims is 0
	if err != nil {
		return nil, err
	}
	return ParseMAT(data, path)
}

// numbers decodes a numeric sub-element into float64 values.
func (p *matParser) numbers(typ uint32, b []byte) ([]float64, error) {
	size := matTypeSize[typ]
	if size == 0 {
		return nil, fmt.Errorf("real part has unsupported data type %d", typ)
	}
	if len(b)%size != 0 {
		return nil, fmt.Errorf("real part has %d bytes, not a multiple of %d (data type %d)", len(b), size, typ)
	}
	out := make([]float64, len(b)/size)
	for i := range out {
		v := b[i*size:]
		switch typ {
		case miINT8:
			out[i] = float64(int8(v[0]))
		case miUINT8:
			out[i] = float64(v[0])
		case miINT16:
			out[i] = float64(int16(p.order.Uint16(v)))
		case miUINT16:
			out[i] = float64(p.order.Uint16(v))
		case miINT32:
			out[i] = float64(int32(p.order.Uint32(v)))
		case miUINT32:
			out[i] = float64(p.order.Uint32(v))
		case miSINGLE:
			out[i] = float64(math.Float32frombits(p.order.Uint32(v)))
		case miDOUBLE:
			out[i] = math.Float64frombits(p.order.Uint64(v))
		case miINT64:
			out[i] = float64(int64(p.order.Uint64(v)))
		case miUINT64:
			out[i] = float64(p.order.Uint64(v))
		}
	}
	return out, nil
}
