package datasets

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vitnb/vitnb/datasets/datasetstest"
)

// TestIDXBounds: idx headers are checked before the data is read. A 64 KB gzip file that inflates to 64 MB under a
// header claiming 4 GiB is refused without reading it (before: inflated whole, 64 MB and more allocated, then
// refused), and MNIST-named files must have MNIST's dimensions.
func TestIDXBounds(t *testing.T) {
	dir := t.TempDir()
	var raw bytes.Buffer
	raw.Write(idxBytes([]int{1 << 20, 1 << 12}, nil))
	raw.Write(make([]byte, 64<<20))
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	_, _ = zw.Write(raw.Bytes())
	_ = zw.Close()
	bomb := filepath.Join(dir, "bomb.gz")
	writeFile(t, bomb, gz.Bytes())
	var err error
	n := datasetstest.Allocated(func() { _, err = ReadIDXFile(bomb) })
	if err == nil || !strings.Contains(err.Error(), "more than a") || !strings.Contains(err.Error(), bomb) {
		t.Errorf("gzip bomb (%d bytes): got %v", gz.Len(), err)
	}
	if n > 8<<20 {
		t.Errorf("reading the %d-byte gzip bomb allocated %d bytes", gz.Len(), n)
	}

	// Known MNIST sizes: a labels file of the right name with 70000 labels is refused from its header.
	labels := filepath.Join(dir, "train-labels-idx1-ubyte")
	writeFile(t, labels, idxBytes([]int{70000}, make([]byte, 70000)))
	if _, err := ReadIDXFile(labels); err == nil || !strings.Contains(err.Error(), "[70000]") ||
		!strings.Contains(err.Error(), "[60000]") {
		t.Errorf("MNIST labels with 70000 entries: got %v", err)
	}
	// Uncompressed files: the header against the file size.
	cut := filepath.Join(dir, "cut")
	writeFile(t, cut, idxBytes([]int{1 << 20, 1 << 12}, make([]byte, 100)))
	if _, err := ReadIDXFile(cut); err == nil || !strings.Contains(err.Error(), "truncated") {
		t.Errorf("header claiming 4 GiB over 100 bytes: got %v", err)
	}
	long := filepath.Join(dir, "long.gz")
	writeFile(t, long, gzipBytes(t, idxBytes([]int{2}, []byte{1, 2, 3})))
	if _, err := ReadIDXFile(long); err == nil || !strings.Contains(err.Error(), "counts disagree") {
		t.Errorf("over-long gzip data: got %v", err)
	}
	bad := gzipBytes(t, idxBytes([]int{2}, []byte{1, 2}))
	bad[len(bad)-8] ^= 0xff // CRC of the gzip trailer
	crc := filepath.Join(dir, "crc.gz")
	writeFile(t, crc, bad)
	if _, err := ReadIDXFile(crc); err == nil || !strings.Contains(err.Error(), "checksum") {
		t.Errorf("gzip with a bad CRC: got %v", err)
	}
}

// sparseFile makes a file of size bytes that takes no disk space.
func sparseFile(t *testing.T, path string, size int64) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(size); err != nil {
		t.Skipf("no sparse files here: %v", err)
	}
}

// TestCIFARAndMATBounds: a CIFAR batch file or a .mat file of 4 GB (sparse) is refused from its size, before it
// is read (before: read whole into memory).
func TestCIFARAndMATBounds(t *testing.T) {
	dir := t.TempDir()
	folder := filepath.Join(dir, "cifar-10-batches-bin")
	for i, n := range []string{"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin",
		"data_batch_5.bin", "test_batch.bin"} {
		size := int64(10000 * 3073)
		if i == 0 {
			size = 4 << 30
		}
		sparseFile(t, filepath.Join(folder, n), size)
	}
	var err error
	n := datasetstest.Allocated(func() { _, _, _, err = loadCIFAR10(dir) })
	if err == nil || !strings.Contains(err.Error(), "data_batch_1.bin: 4294967296 bytes, want 30730000") {
		t.Errorf("4 GB CIFAR batch: got %v", err)
	}
	if n > 1<<20 {
		t.Errorf("refusing a 4 GB CIFAR batch allocated %d bytes", n)
	}

	mat := filepath.Join(dir, "setid.mat")
	sparseFile(t, mat, 4<<30)
	if _, err := ReadMATFile(mat); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("4 GB .mat file: got %v", err)
	}
	// A link to /dev/zero claims 0 bytes and never ends: read whole, it died "fatal error: out of memory".
	zero := filepath.Join(dir, "imagelabels.mat")
	if err := os.Symlink("/dev/zero", zero); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadMATFile(zero); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf(".mat file linked to /dev/zero: got %v", err)
	}
	// A matrix whose dimensions disagree with its data is refused before the values are decoded.
	le := binary.LittleEndian
	data := matFile(le, false, matVar{name: "labels", class: 6, dims: []int32{1, 1 << 30}, typ: miUINT8, data: u8(1, 2, 3)})
	if _, err := ParseMAT(data, "m.mat"); err == nil || !strings.Contains(err.Error(), "need 1073741824 values") {
		t.Errorf("dimensions 1x2^30 over 3 bytes: got %v", err)
	}
}

// FuzzReadIDXFile feeds arbitrary files, plain and gzip-compressed, to the streaming idx reader: an error or an
// IDX whose data matches its dimensions, never a panic, and never more data than the file could hold.
func FuzzReadIDXFile(f *testing.F) {
	f.Add(idxBytes([]int{2, 2, 2}, []byte{1, 2, 3, 4, 5, 6, 7, 8}), false)
	f.Add(idxBytes([]int{3}, []byte{0, 9, 2}), true)
	f.Add(idxBytes([]int{1 << 20, 1 << 12}, nil), true)
	f.Add([]byte{0, 0, 8, 1, 0, 0, 0}, false)
	f.Add([]byte{0x1f, 0x8b, 8, 0}, false)
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte, compress bool) {
		if compress {
			data = gzipBytes(t, data)
		}
		path := filepath.Join(dir, "fuzz.idx")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		x, err := ReadIDXFile(path)
		if err != nil {
			if !strings.Contains(err.Error(), path) {
				t.Fatalf("error without the file name: %v", err)
			}
			return
		}
		size := 1
		for _, d := range x.Dims {
			size *= d
		}
		if size != len(x.Data) || size > len(data)*deflateMaxRatio {
			t.Fatalf("dims %v but %d values from %d bytes", x.Dims, len(x.Data), len(data))
		}
	})
}
