package datasets

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
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
	nDims, err := idxMagic(data[:4], name)
	if err != nil {
		return nil, err
	}
	headerLen := 4 + 4*nDims
	if len(data) < headerLen {
		return nil, fmt.Errorf("%s: idx header truncated: %d dimensions need %d bytes, file has %d",
			name, nDims, headerLen, len(data))
	}
	body := len(data) - headerLen
	dims, size, err := idxDims(data[4:headerLen], name, body)
	if err != nil {
		return nil, err
	}
	if err := idxBodySize(dims, size, body, name); err != nil {
		return nil, err
	}
	return &IDX{Dims: dims, Data: data[headerLen:]}, nil
}

// idxMagic checks the 4-byte magic number of an idx file and returns its number of dimensions.
func idxMagic(magic []byte, name string) (int, error) {
	if magic[0] != 0 || magic[1] != 0 {
		return 0, fmt.Errorf("%s: wrong idx magic number 0x%02x%02x%02x%02x: the first two bytes must be zero "+
			"(is the file still gzip-compressed or not an idx file?)", name, magic[0], magic[1], magic[2], magic[3])
	}
	if magic[2] != idxTypeUByte {
		return 0, fmt.Errorf("%s: idx type code 0x%02x not supported, want 0x08 (unsigned byte)", name, magic[2])
	}
	nDims := int(magic[3])
	if nDims == 0 || nDims > maxIDXDims {
		return 0, fmt.Errorf("%s: idx header says %d dimensions, want 1 to %d", name, nDims, maxIDXDims)
	}
	return nDims, nil
}

// idxDims decodes the dimensions of an idx header and their product, refusing a product above the largest data
// an idx file may hold (math.MaxInt32 MiB); body is the number of data bytes available, for the message.
func idxDims(raw []byte, name string, body int) ([]int, int, error) {
	dims := make([]int, len(raw)/4)
	size := 1
	for i := range dims {
		d := int(binary.BigEndian.Uint32(raw[4*i:]))
		dims[i] = d
		if d != 0 && size > math.MaxInt32*int(1<<20)/d {
			return nil, 0, fmt.Errorf("%s: idx dimensions %v describe more data than the %d bytes in the file",
				name, dims[:i+1], body)
		}
		size *= d
	}
	return dims, size, nil
}

// idxBodySize compares the data size a header describes with the bytes available.
func idxBodySize(dims []int, size, body int, name string) error {
	if size == body {
		return nil
	}
	if size > body {
		return fmt.Errorf("%s: idx file truncated: header dimensions %v need %d bytes of data, file has %d "+
			"(record %d is incomplete)", name, dims, size, body, recordOf(body, dims))
	}
	return fmt.Errorf("%s: idx file has %d bytes of data but header dimensions %v need %d: counts disagree",
		name, body, dims, size)
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

// idxKnownDims are the dimensions of the idx files of MNIST-like data sets (MNIST, Fashion-MNIST, KMNIST share
// the file names and sizes, http://yann.lecun.com/exdb/mnist/), by file name without ".gz": a file of that name
// whose header says otherwise is refused before its data is read. A variable so that tests can use small files.
var idxKnownDims = map[string][]int{
	"train-images-idx3-ubyte": {60000, 28, 28}, "train-labels-idx1-ubyte": {60000},
	"t10k-images-idx3-ubyte": {10000, 28, 28}, "t10k-labels-idx1-ubyte": {10000},
}

// deflateMaxRatio is the largest expansion of deflate (RFC 1951): a 258-byte match coded in 1 bit at best, about
// 1032:1. A gzip file smaller than size/deflateMaxRatio cannot hold size bytes.
const deflateMaxRatio = 1032

// ReadIDXFile reads an idx file, gzip-compressed (.gz, detected by its magic bytes) or not. The header is checked
// before the data is read: against the known dimensions of MNIST-like files (by name), against the file size
// (uncompressed) or what the compressed size can hold (gzip), and the data read is bounded by the header, so a
// small file that claims or decompresses to gigabytes is an error, not an allocation.
func ReadIDXFile(path string) (*IDX, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	br := bufio.NewReader(f)
	var r io.Reader = br
	compressed := false
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("%s: bad gzip header: %w", path, err)
		}
		r, compressed = zr, true
	}
	readErr := func(err error, what string) error {
		if compressed && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
			return fmt.Errorf("%s: decompressing gzip (file truncated or corrupt?): %w", path, err)
		}
		return fmt.Errorf("%s: %s: %w", path, what, err)
	}
	head := make([]byte, 4, 4+4*maxIDXDims)
	if n, err := io.ReadFull(r, head); err != nil {
		if n < 4 && !compressed && st.Size() < 4 {
			return nil, fmt.Errorf("%s: idx file too short (%d bytes) for its 4-byte magic number", path, st.Size())
		}
		return nil, readErr(err, "reading the idx magic number")
	}
	nDims, err := idxMagic(head, path)
	if err != nil {
		return nil, err
	}
	head = head[:4+4*nDims]
	if _, err := io.ReadFull(r, head[4:]); err != nil {
		return nil, readErr(err, fmt.Sprintf("idx header truncated (%d dimensions need %d bytes)", nDims, len(head)))
	}
	body := int(st.Size()) - len(head) // the data bytes of an uncompressed file
	dims, size, err := idxDims(head[4:], path, body)
	if err != nil {
		return nil, err
	}
	base := strings.TrimSuffix(filepath.Base(path), ".gz")
	if want, ok := idxKnownDims[base]; ok && !slices.Equal(dims, want) {
		return nil, fmt.Errorf("%s: idx header gives dimensions %v, but %s files are %v", path, dims, base, want)
	}
	if !compressed {
		if err := idxBodySize(dims, size, body, path); err != nil {
			return nil, err
		}
	} else if int64(size)/deflateMaxRatio > st.Size() {
		return nil, fmt.Errorf("%s: idx header dimensions %v need %d bytes, more than a %d-byte gzip file can hold",
			path, dims, size, st.Size())
	}
	data := make([]byte, len(head)+size)
	copy(data, head)
	n, err := io.ReadFull(r, data[len(head):])
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, readErr(err, "reading idx data")
	}
	if n < size {
		return nil, idxBodySize(dims, size, n, path)
	}
	// Read on to the end (at most 1 MiB more): over-long data is an error, and gzip checks its CRC there.
	extra, err := io.Copy(io.Discard, io.LimitReader(r, 1<<20))
	if err != nil {
		return nil, readErr(err, "reading past the idx data")
	}
	if extra > 0 {
		return nil, fmt.Errorf("%s: idx file has more data than its header dimensions %v need (%d bytes): counts disagree",
			path, dims, size)
	}
	return &IDX{Dims: dims, Data: data[len(head):]}, nil
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
