package datasets

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"hash/crc32"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vitnb/vitnb/datasets/datasetstest"
	"github.com/vitnb/vitnb/vitnb/files"
)

// pngBomb is a PNG whose header claims w x h RGBA pixels, followed by a few bytes of image data: about 69 bytes
// that a decoder without a pixel limit turns into a w*h*4-byte allocation.
func pngBomb(w, h uint32) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	chunk := func(typ string, data []byte) {
		_ = binary.Write(&b, binary.BigEndian, uint32(len(data)))
		b.WriteString(typ)
		b.Write(data)
		crc := crc32.NewIEEE()
		crc.Write([]byte(typ))
		crc.Write(data)
		_ = binary.Write(&b, binary.BigEndian, crc.Sum32())
	}
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 6 // 8 bits, RGBA
	chunk("IHDR", ihdr)
	// Image data: the first row (a filter byte and w RGBA pixels), cut to 5 bytes.
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	_, _ = zw.Write(make([]byte, min(1+4*int(w), 5)))
	_ = zw.Close()
	chunk("IDAT", z.Bytes())
	chunk("IEND", nil)
	return b.Bytes()
}

// jpegHeader is the start of a baseline JFIF JPEG (69 bytes) whose frame header claims w x h pixels (16-bit
// fields: 65535 at most).
func jpegHeader(w, h uint16) []byte {
	var b bytes.Buffer
	b.Write([]byte{0xff, 0xd8})                                                          // SOI
	b.Write([]byte{0xff, 0xe0, 0, 16, 'J', 'F', 'I', 'F', 0, 1, 1, 0, 0, 1, 0, 1, 0, 0}) // APP0 JFIF 1.1
	b.Write([]byte{0xff, 0xc0, 0x00, 0x11})                                              // SOF0, 17 bytes
	b.WriteByte(8)
	_ = binary.Write(&b, binary.BigEndian, h)
	_ = binary.Write(&b, binary.BigEndian, w)
	b.WriteByte(3)
	for c := byte(1); c <= 3; c++ {
		b.Write([]byte{c, 0x11, 0})
	}
	b.Write(make([]byte, 69-b.Len()))
	return b.Bytes()
}

// TestDecodePixelLimit: images whose headers claim huge dimensions are refused from the header, with one line naming
// the file, before any pixel is allocated (without the limit, the PNG asks for 40 GB and the process dies).
func TestDecodePixelLimit(t *testing.T) {
	dir := t.TempDir()
	// A real JPEG whose frame header is rewritten to 65535x65535: without the limit, decoding allocates gigabytes.
	big := readTestdata(t, "rgb.jpg")
	sof := bytes.Index(big, []byte{0xff, 0xc0})
	if sof < 0 {
		t.Fatal("testdata/rgb.jpg has no baseline frame header")
	}
	binary.BigEndian.PutUint16(big[sof+5:], 65535)
	binary.BigEndian.PutUint16(big[sof+7:], 65535)
	bombs := map[string][]byte{"huge.png": pngBomb(100000, 100000), "huge.jpg": jpegHeader(65535, 65535),
		"patched.jpg": big}
	for name, data := range bombs {
		path := filepath.Join(dir, name)
		writeFile(t, path, data)
		_, err := DecodeFile(path)
		if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "above the limit") ||
			strings.Contains(err.Error(), "\n") {
			t.Errorf("%s (%d bytes): got %v, want one line naming the file and the limit", name, len(data), err)
		}
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := DecodeImage(f, "upload "+name); err == nil || !strings.HasPrefix(err.Error(), "upload "+name+": ") {
			t.Errorf("DecodeImage %s: got %v", name, err)
		}
		f.Close()
	}

	// The limit is a setting: a 20x16 test image passes by default, fails under a limit of 300, passes with 0.
	defer func(old int64) { MaxImagePixels = old }(MaxImagePixels)
	rgb := filepath.Join("testdata", "rgb.jpg")
	for limit, ok := range map[int64]bool{defaultMaxImagePixels: true, 320: true, 319: false, 0: true} {
		MaxImagePixels = limit
		_, err := DecodeFile(rgb)
		if (err == nil) != ok {
			t.Errorf("limit %d: got %v", limit, err)
		}
	}
	MaxImagePixels = 0
	data := pngBomb(1, 1)
	if p, err := DecodeBytes(data); err != nil || p.Width != 1 {
		t.Errorf("a 1x1 PNG: %v", err)
	}
}

// TestDecodeMemoryWithoutPixelLimit: with the pixel limit off (VITNB_MAX_PIXELS=0), an image whose decoding
// does not fit in the memory available is still refused from its header, in one line naming the file, with less
// than 100 MB allocated (before: `vit predict` died with "runtime: out of memory" and a stack trace). A machine
// of 1 GB is given here; a header of 10^6 x 10^6 pixels (7 TB to decode) is refused with the machine's own.
func TestDecodeMemoryWithoutPixelLimit(t *testing.T) {
	defer func(old int64) { MaxImagePixels = old }(MaxImagePixels)
	MaxImagePixels = 0
	t.Setenv(files.NoMemoryCheckEnv, "")
	dir := t.TempDir()
	for name, data := range map[string][]byte{"real": pngBomb(1_000_000, 1_000_000), "1 GB": pngBomb(100000, 100000)} {
		func() {
			if name == "1 GB" {
				defer func(old func() (uint64, string, bool)) { hostMemory = old }(hostMemory)
				hostMemory = func() (uint64, string, bool) { return 1 << 30, "test", true }
			} else if _, _, ok := hostMemory(); !ok {
				t.Logf("the machine's memory is unknown: not checked")
				return
			}
			path := filepath.Join(dir, "huge.png")
			writeFile(t, path, data)
			var err error
			if n := datasetstest.Allocated(func() { _, err = DecodeFile(path) }); n > 100<<20 {
				t.Errorf("%s: %d bytes allocated", name, n)
			}
			if err == nil || !strings.HasPrefix(err.Error(), path+": ") || !strings.Contains(err.Error(), "available") ||
				strings.Contains(err.Error(), "\n") {
				t.Errorf("%s: got %v, want one line naming the file and the memory available", name, err)
			}
		}()
	}
	// The 1x1 PNG still decodes without the limit.
	if p, err := DecodeBytes(pngBomb(1, 1)); err != nil || p.Width != 1 {
		t.Errorf("a 1x1 PNG: %v", err)
	}
}

func TestParseMaxPixels(t *testing.T) {
	for v, want := range map[string]int64{"": defaultMaxImagePixels, "1000": 1000, "0": 0, " 5 ": 5} {
		if got, err := parseMaxPixels(v); err != nil || got != want {
			t.Errorf("%q: got %d, %v; want %d", v, got, err, want)
		}
	}
	for _, v := range []string{"-1", "lots", "1e9"} {
		if _, err := parseMaxPixels(v); err == nil || !strings.Contains(err.Error(), MaxPixelsEnv) {
			t.Errorf("%q: got %v, want an error naming %s", v, err, MaxPixelsEnv)
		}
	}
}

// FuzzDecodeImage feeds arbitrary bytes to the decoding entry point: an error or pixels that match the header's
// size, never a panic, and never more pixels than the limit (kept small here so that the fuzzer cannot ask for
// gigabytes). Seeds: the test images, their first bytes, and the header bombs.
func FuzzDecodeImage(f *testing.F) {
	for _, name := range []string{"rgb.jpg", "grey.jpg", "cmyk.jpg", "png_named.jpg"} {
		data := readTestdata(f, name)
		f.Add(data)
		f.Add(data[:min(len(data), 200)])
	}
	f.Add(pngBomb(100000, 100000))
	f.Add(pngBomb(3, 2))
	f.Add(jpegHeader(65535, 65535))
	f.Add([]byte("GIF89a\x01\x00\x01\x00\x00\x00\x00;"))
	f.Add([]byte("BM"))
	defer func(old int64) { MaxImagePixels = old }(MaxImagePixels)
	MaxImagePixels = 1 << 16
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := DecodeBytes(data)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error on several lines: %q", err)
			}
			return
		}
		if p.Width*p.Height > 1<<16 || len(p.Pix) != p.Width*p.Height*3 || p.Channels != 3 {
			t.Fatalf("decoded %dx%dx%d with %d values (limit %d pixels)", p.Width, p.Height, p.Channels, len(p.Pix), 1<<16)
		}
	})
}

// TestDecodeFileEmptyPath: an empty image path is said as such (`vit predict -image ""` said "reading image: open
// : no such file or directory").
func TestDecodeFileEmptyPath(t *testing.T) {
	if _, err := DecodeFile(""); err == nil || err.Error() != "reading image: no file name (an empty path)" {
		t.Errorf("DecodeFile(\"\"): %v", err)
	}
}
