package datasets

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"crypto/md5"
	"encoding/binary"
	"encoding/hex"
	"image"
	"image/color"
	"image/jpeg"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// idxBytes builds an idx file of unsigned bytes.
func idxBytes(dims []int, data []byte) []byte {
	var b bytes.Buffer
	b.Write([]byte{0, 0, 8, byte(len(dims))})
	for _, d := range dims {
		_ = binary.Write(&b, binary.BigEndian, uint32(d))
	}
	b.Write(data)
	return b.Bytes()
}

func gzipBytes(t testing.TB, data []byte) []byte {
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	if _, err := zw.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func writeFile(t testing.TB, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// tarGz builds a .tar.gz with the given members (a name ending in "/" is a folder), in order.
func tarGz(t testing.TB, members [][2]string) []byte {
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	tw := tar.NewWriter(zw)
	for _, m := range members {
		h := &tar.Header{Name: m[0], Mode: 0o644, Size: int64(len(m[1])), Typeflag: tar.TypeReg}
		if m[0][len(m[0])-1] == '/' {
			h.Typeflag, h.Size, h.Mode = tar.TypeDir, 0, 0o755
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(m[1])); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// cifarRecords builds n CIFAR records; record r has label(s) labels(r) and red = r, green = 100+pixel%100,
// blue = 7.
func cifarRecords(n int, labels func(r int) []byte) []byte {
	var b bytes.Buffer
	for r := range n {
		b.Write(labels(r))
		for c := range 3 {
			for i := range 1024 {
				switch c {
				case 0:
					b.WriteByte(byte(r))
				case 1:
					b.WriteByte(byte(100 + i%100))
				default:
					b.WriteByte(7)
				}
			}
		}
	}
	return b.Bytes()
}

// matVar is one variable for matFile.
type matVar struct {
	name  string
	class uint32 // mx class, 6 = double
	dims  []int32
	typ   uint32 // mi type of the real part
	data  []byte // real part, already encoded in the file's byte order
}

// matFile builds a MATLAB level 5 .mat file.
func matFile(order binary.ByteOrder, compress bool, vars ...matVar) []byte {
	var out bytes.Buffer
	header := make([]byte, 128)
	copy(header, "MATLAB 5.0 MAT-file, Platform: GLNXA64, Created on: Mon Jan  1 00:00:00 2024")
	for i := len("MATLAB 5.0 MAT-file, Platform: GLNXA64, Created on: Mon Jan  1 00:00:00 2024"); i < 116; i++ {
		header[i] = ' '
	}
	order.PutUint16(header[124:], 0x0100)
	order.PutUint16(header[126:], 'M'<<8|'I')
	out.Write(header)
	elem := func(b *bytes.Buffer, typ uint32, data []byte) {
		var tag [8]byte
		if len(data) <= 4 && typ != miMATRIX && typ != miCOMPRESSED {
			order.PutUint32(tag[:], uint32(len(data))<<16|typ)
			copy(tag[4:], data)
			b.Write(tag[:])
			return
		}
		order.PutUint32(tag[:], typ)
		order.PutUint32(tag[4:], uint32(len(data)))
		b.Write(tag[:])
		b.Write(data)
		if typ != miCOMPRESSED {
			b.Write(make([]byte, (8-len(data)%8)%8))
		}
	}
	for _, v := range vars {
		var m bytes.Buffer
		flags := make([]byte, 8)
		order.PutUint32(flags, v.class)
		elem(&m, miUINT32, flags)
		dims := make([]byte, 4*len(v.dims))
		for i, d := range v.dims {
			order.PutUint32(dims[4*i:], uint32(d))
		}
		elem(&m, miINT32, dims)
		elem(&m, miINT8, []byte(v.name))
		elem(&m, v.typ, v.data)
		var whole bytes.Buffer
		elem(&whole, miMATRIX, m.Bytes())
		if compress {
			var z bytes.Buffer
			zw := zlib.NewWriter(&z)
			_, _ = zw.Write(whole.Bytes())
			_ = zw.Close()
			elem(&out, miCOMPRESSED, z.Bytes())
		} else {
			out.Write(whole.Bytes())
		}
	}
	return out.Bytes()
}

// u8 and u16 encode values as MATLAB stores small doubles (uint8 or uint16 storage).
func u8(vals ...int) []byte {
	b := make([]byte, len(vals))
	for i, v := range vals {
		b[i] = byte(v)
	}
	return b
}

func u16(order binary.ByteOrder, vals ...int) []byte {
	b := make([]byte, 2*len(vals))
	for i, v := range vals {
		order.PutUint16(b[2*i:], uint16(v))
	}
	return b
}

// jpegBytes encodes a w x h picture whose colour depends on seed.
func jpegBytes(t testing.TB, w, h, seed int) []byte {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{uint8(x*255/max(1, w-1) + seed), uint8(y * 255 / max(1, h-1)), uint8(seed * 40), 255})
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func readTestdata(t testing.TB, name string) []byte {
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// publishFixture makes the registered data set name publish, until the end of the test, the md5 of the files its
// fixture wrote in dir/NAME (as if they were the published ones), so that Load's checksum check accepts them and
// the test reaches the loader. Call it again after rewriting a published file.
func publishFixture(t testing.TB, name, dir string) {
	t.Helper()
	orig, err := Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	fixture := *orig
	fixture.Files = slices.Clone(orig.Files)
	for i, f := range fixture.Files {
		data, err := os.ReadFile(filepath.Join(orig.CacheDir(dir), f.Name))
		if err != nil {
			continue // Missing, or an extracted folder: not checked.
		}
		sum := md5.Sum(data)
		fixture.Files[i].MD5, fixture.Files[i].SHA256, fixture.Files[i].RawMD5 = hex.EncodeToString(sum[:]), "", ""
	}
	prev := registry[name]
	registry[name] = &fixture
	t.Cleanup(func() { registry[name] = prev })
}
