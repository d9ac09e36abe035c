package datasets

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
)

// IDX is the content of an idx file, the format of MNIST and Fashion-MNIST
// (http://yann.lecun.com/exdb/mnist/, section "FILE FORMATS"): a 4-byte magic number (two zero bytes, a type code
// and the number of dimensions), one big-endian uint32 per dimension, then the values in row-major order.
// Only unsigned bytes (type code 0x08), the type of every MNIST-like file, are supported.
type IDX struct {
	// Dims are the dimensions from the header, e.g. [60000 28 28] for images or [60000] for labels.
	Dims []int
	// Data holds the values, len(Data) is the product of Dims.
	Data []byte
}

// idxTypeUByte is the idx type code for unsigned bytes.
const idxTypeUByte = 0x08

// maxIDXDims bounds the number of dimensions of an idx file: MNIST uses 1 (labels) or 3 (images).
const maxIDXDims = 8

// ParseIDX parses the bytes of an (uncompressed) idx file. name is used in error messages.
// The data must be exactly as long as the header says: a truncated or over-long file is an error.
func ParseIDX(data []byte, name string) (*IDX, error) {
	if len(data) < 4 {
		return nil, fmt.Errorf("%s: idx file too short (%d bytes) for its 4-byte magic number", name, len(data))
	}
	if data[0] != 0 || data[1] != 0 {
		return nil, fmt.Errorf("%s: wrong idx magic number 0x%02x%02x%02x%02x: the first two bytes must be zero "+
			"(is the file still gzip-compressed or not an idx file?)", name, data[0], data[1], data[2], data[3])
	}
	if data[2] != idxTypeUByte {
		return nil, fmt.Errorf("%s: idx type code 0x%02x not supported, want 0x08 (unsigned byte)", name, data[2])
	}
	nDims := int(data[3])
	if nDims == 0 || nDims > maxIDXDims {
		return nil, fmt.Errorf("%s: idx header says %d dimensions, want 1 to %d", name, nDims, maxIDXDims)
	}
	headerLen := 4 + 4*nDims
	if len(data) < headerLen {
		return nil, fmt.Errorf("%s: idx header truncated: %d dimensions need %d bytes, file has %d",
			name, nDims, headerLen, len(data))
	}
	dims := make([]int, nDims)
	size := 1
	body := len(data) - headerLen
	for i := range dims {
		d := int(binary.BigEndian.Uint32(data[4+4*i:]))
		dims[i] = d
		if d != 0 && size > math.MaxInt32*int(1<<20)/d {
			return nil, fmt.Errorf("%s: idx dimensions %v describe more data than the %d bytes in the file",
				name, dims[:i+1], body)
		}
		size *= d
	}
	if size != body {
		if size > body {
			return nil, fmt.Errorf("%s: idx file truncated: header dimensions %v need %d bytes of data, file has %d "+
				"(record %d is incomplete)", name, dims, size, body, recordOf(body, dims))
		}
		return nil, fmt.Errorf("%s: idx file has %d bytes of data but header dimensions %v need %d: counts disagree",
			name, body, dims, size)
	}
	return &IDX{Dims: dims, Data: data[headerLen:]}, nil
}

// recordOf returns the index of the first incomplete record given the available bytes.
func recordOf(available int, dims []int) int {
	rec := 1
	for _, d := range dims[1:] {
		rec *= d
	}
	if rec == 0 {
		return 0
	}
	return available / rec
}

// ReadIDXFile reads an idx file, gzip-compressed (.gz, detected by its magic bytes) or not.
func ReadIDXFile(path string) (*IDX, error) {
	data, err := readMaybeGzip(path)
	if err != nil {
		return nil, err
	}
	return ParseIDX(data, path)
}

// readMaybeGzip reads a whole file, decompressing it when it starts with the gzip magic bytes.
func readMaybeGzip(path string) ([]byte, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	if len(raw) < 2 || raw[0] != 0x1f || raw[1] != 0x8b {
		return raw, nil
	}
	return gunzipAtMost(raw, maxGzipContent, path) // A gzip bomb is refused (archive.go).
}

// idxPair reads an idx images file and its labels file and checks that they agree: images [N, H, W] (or
// [N, H, W, C]), labels [N], every label below numClasses.
func idxPair(imagesPath, labelsPath string, numClasses int) (*ArraySource, error) {
	images, err := ReadIDXFile(imagesPath)
	if err != nil {
		return nil, err
	}
	labels, err := ReadIDXFile(labelsPath)
	if err != nil {
		return nil, err
	}
	if len(images.Dims) != 3 && len(images.Dims) != 4 {
		return nil, fmt.Errorf("%s: idx images have dimensions %v, want [N H W] or [N H W C]", imagesPath, images.Dims)
	}
	if len(labels.Dims) != 1 {
		return nil, fmt.Errorf("%s: idx labels have dimensions %v, want [N]", labelsPath, labels.Dims)
	}
	if images.Dims[0] != labels.Dims[0] {
		return nil, fmt.Errorf("%s has %d images but %s has %d labels: counts disagree",
			imagesPath, images.Dims[0], labelsPath, labels.Dims[0])
	}
	channels := 1
	if len(images.Dims) == 4 {
		channels = images.Dims[3]
	}
	src := &ArraySource{
		Height: images.Dims[1], Width: images.Dims[2], Channels: channels,
		Pix: images.Data, Labels: make([]int32, labels.Dims[0]), Origin: imagesPath,
	}
	for i, l := range labels.Data {
		if int(l) >= numClasses {
			return nil, fmt.Errorf("%s: record %d has label %d, want 0..%d", labelsPath, i, l, numClasses-1)
		}
		src.Labels[i] = int32(l)
	}
	return src, nil
}
