package datasets

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	_ "image/gif"  // Registers GIF decoding (some "jpg" files of web data sets are GIFs).
	_ "image/jpeg" // Registers JPEG decoding.
	_ "image/png"  // Registers PNG decoding.
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/vitnb/vitnb/vitnb/files"
	_ "golang.org/x/image/bmp"  // Registers BMP, an ImageFolder extension in torchvision.
	_ "golang.org/x/image/tiff" // Registers TIFF, an ImageFolder extension in torchvision.
	_ "golang.org/x/image/webp" // Registers WebP, an ImageFolder extension in torchvision.
)

// MaxImagePixels is the largest width*height that DecodeImage, DecodeFile and DecodeBytes accept, checked from the
// image header before any pixel is allocated, so that a small file whose header claims 100000x100000 pixels is an
// error instead of an out-of-memory crash. The default, 178,956,970, is the size at which PIL refuses an image
// (Image.open raises DecompressionBombError above 2*Image.MAX_IMAGE_PIXELS = 2*89,478,485): every image that PIL
// opens, vitnb opens too; decoding one that large holds about 4.5 bytes a pixel (0.8 GB). The environment variable
// VITNB_MAX_PIXELS sets it when the program starts (a positive integer; 0 turns the limit off, as PIL's
// MAX_IMAGE_PIXELS = None does; an image whose decoding does not fit in the memory available is still refused,
// see checkDecodeMemory). A program may also assign it before decoding.
var MaxImagePixels int64 = defaultMaxImagePixels

// defaultMaxImagePixels is PIL's error threshold, 2 * Image.MAX_IMAGE_PIXELS (PIL/Image.py: 1024*1024*1024 // 4 // 3).
const defaultMaxImagePixels = 2 * 89_478_485

// MaxPixelsEnv is the environment variable read into MaxImagePixels.
const MaxPixelsEnv = "VITNB_MAX_PIXELS"

// maxPixelsEnvErr is the error of a malformed VITNB_MAX_PIXELS, returned by every decode so that it is not ignored.
var maxPixelsEnvErr error

func init() {
	MaxImagePixels, maxPixelsEnvErr = parseMaxPixels(os.Getenv(MaxPixelsEnv))
}

// parseMaxPixels reads the value of VITNB_MAX_PIXELS ("" gives the default).
func parseMaxPixels(v string) (int64, error) {
	if v == "" {
		return defaultMaxImagePixels, nil
	}
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil || n < 0 {
		return defaultMaxImagePixels, fmt.Errorf("%s=%q: want a number of pixels (0 for no limit)", MaxPixelsEnv, v)
	}
	return n, nil
}

// DecodeImage decodes an image (JPEG, PNG, GIF, BMP, TIFF, WebP, sniffed from the content) from r after checking
// the dimensions in its header against MaxImagePixels: the one place where vitnb decodes images. name (a file name
// or URL) starts every error message.
func DecodeImage(r io.Reader, name string) (image.Image, error) {
	if r == nil {
		return nil, fmt.Errorf("%s: no reader (nil)", name)
	}
	img, err := decodeImage(r)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return img, nil
}

// decodeImage is DecodeImage without the name in its errors.
func decodeImage(r io.Reader) (image.Image, error) {
	br := bufio.NewReader(r)
	_, head, err := decodeHeader(br)
	if err != nil {
		return nil, err
	}
	img, format, err := image.Decode(io.MultiReader(head, br))
	if err != nil {
		return nil, fmt.Errorf("decoding %s image: %w", format, err)
	}
	return img, nil
}

// decodeHeader reads the header of the image in br (image.DecodeConfig) and checks it before any pixel is
// allocated: a known format, at most MaxImagePixels, and a decoding that fits in the memory at hand. It returns
// the header with the bytes it consumed, which a decoder must read again before the rest of br.
func decodeHeader(br *bufio.Reader) (image.Config, *bytes.Buffer, error) {
	if maxPixelsEnvErr != nil {
		return image.Config{}, nil, maxPixelsEnvErr
	}
	// DecodeConfig consumes the header: keep what it read and replay it to the decoder.
	var head bytes.Buffer
	if _, err := br.Peek(1); err == io.EOF {
		return image.Config{}, nil, fmt.Errorf("empty file, not an image")
	} else if err != nil {
		return image.Config{}, nil, fmt.Errorf("reading: %w", err)
	}
	cfg, format, err := image.DecodeConfig(io.TeeReader(br, &head))
	if err != nil {
		if errors.Is(err, image.ErrFormat) {
			first := head.Bytes()[:min(head.Len(), 8)]
			return cfg, nil, fmt.Errorf("not a decodable image: unknown format (first bytes % x)", first)
		}
		return cfg, nil, fmt.Errorf("decoding %s image header: %w", format, err)
	}
	if err := checkPixels(cfg.Width, cfg.Height, format+" header"); err != nil {
		return cfg, nil, err
	}
	if err := checkDecodeMemory(cfg, format); err != nil {
		return cfg, nil, err
	}
	return cfg, &head, nil
}

// checkPixels compares the dimensions that what (an image header, "PNG header") gives with MaxImagePixels.
func checkPixels(w, h int, what string) error {
	if w <= 0 || h <= 0 {
		return fmt.Errorf("%s gives %dx%d pixels, not an image", what, w, h)
	}
	limit := MaxImagePixels
	if limit > 0 && int64(w) > limit/int64(h) { // w*h > limit without overflowing
		return fmt.Errorf("%s claims %dx%d = %d pixels, above the limit of %d (set %s to raise it, 0 for none)",
			what, w, h, int64(w)*int64(h), limit, MaxPixelsEnv)
	}
	return nil
}

// hostMemory is files.HostMemory (a variable so that tests can give the machine the memory they want).
var hostMemory = files.HostMemory

// checkDecodeMemory refuses, from its header, an image whose decoding needs more than the memory available
// (files.HostMemory): the decoder's image, in the bytes a pixel of its colour model takes, and the 3-byte RGB
// copy of DecodeFile. With MaxImagePixels at its default this never binds on a machine with 2 GB free; with the
// limit off (0) it is what stops a 68-byte PNG claiming 100000x100000 pixels (40 GB) from crashing the process.
// VITNB_NO_MEMORY_CHECK=1 (files.NoMemoryCheckEnv) turns it off; an unknown machine memory is not checked.
func checkDecodeMemory(cfg image.Config, format string) error {
	avail, source, ok := hostMemory()
	if !ok {
		return nil
	}
	need := float64(cfg.Width) * float64(cfg.Height) * float64(bytesPerPixel(cfg.ColorModel)+3)
	return files.NotEnoughMemory(need, avail, source, fmt.Sprintf("%s header claims %dx%d pixels: decoded, they",
		format, cfg.Width, cfg.Height), "use a smaller image, or a pixel limit ("+MaxPixelsEnv+")")
}

// bytesPerPixel is the memory a pixel of a decoded image of colour model m takes (image/png, image/jpeg and
// x/image return the image type of their colour model: RGBA64 for 16-bit colour, YCbCr at 4:4:4 at most).
func bytesPerPixel(m color.Model) int {
	if _, ok := m.(color.Palette); ok {
		return 1
	}
	switch m {
	case color.RGBA64Model, color.NRGBA64Model:
		return 8
	case color.GrayModel, color.AlphaModel:
		return 1
	case color.Gray16Model, color.Alpha16Model:
		return 2
	case color.YCbCrModel:
		return 3
	}
	return 4 // RGBA, NRGBA, CMYK, and what else a decoder returns
}

// DecodeFile decodes an image file into RGB pixels, whatever its format and colour model, as torchvision users get
// with PIL's Image.open(path).convert("RGB"): the format is sniffed from the content, not the extension (so a PNG
// named .jpg works), greyscale is repeated to 3 channels, CMYK is converted to RGB, alpha is dropped and palettes are
// expanded. Its size is checked against MaxImagePixels first (see DecodeImage). Errors name the file.
func DecodeFile(path string) (*Pixels, error) {
	if path == "" {
		return nil, errors.New("reading image: no file name (an empty path)")
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading image: %w", err)
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.IsDir() {
		return nil, fmt.Errorf("%s is a folder, not an image (images:%s reads every image in it)", path, path)
	}
	img, err := DecodeImage(f, path)
	if err != nil {
		return nil, err
	}
	return ToRGB(img), nil
}

// DecodeBytes decodes an encoded image (JPEG, PNG, GIF, BMP, TIFF, WebP) into RGB pixels; see DecodeFile.
func DecodeBytes(data []byte) (*Pixels, error) {
	img, err := decodeImage(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	return ToRGB(img), nil
}

// ToRGB converts any image.Image to 3-channel 8-bit pixels (see DecodeFile for the conversions). No image (nil, a
// nil pointer) gives empty pixels (0x0), which InputPixels refuses; CheckImage tells what is wrong with an image.
func ToRGB(img image.Image) *Pixels {
	if img == nil {
		return &Pixels{Channels: 3}
	}
	b, err := bounds(img)
	if err != nil {
		return &Pixels{Channels: 3}
	}
	w, h := b.Dx(), b.Dy()
	p := &Pixels{Height: h, Width: w, Channels: 3, Pix: make([]uint8, h*w*3)}
	out := p.Pix
	switch m := img.(type) {
	case *image.YCbCr:
		ycbcrToRGB(m, out)
	case *image.Gray:
		for y := range h {
			row := m.Pix[(y)*m.Stride : (y)*m.Stride+w]
			o := y * w * 3
			for _, v := range row {
				out[o], out[o+1], out[o+2] = v, v, v
				o += 3
			}
		}
	case *image.NRGBA:
		for y := range h {
			row := m.Pix[y*m.Stride : y*m.Stride+4*w]
			o := y * w * 3
			for x := range w {
				out[o], out[o+1], out[o+2] = row[4*x], row[4*x+1], row[4*x+2]
				o += 3
			}
		}
	case *image.CMYK:
		for y := range h {
			row := m.Pix[y*m.Stride : y*m.Stride+4*w]
			o := y * w * 3
			for x := range w {
				out[o], out[o+1], out[o+2] = color.CMYKToRGB(row[4*x], row[4*x+1], row[4*x+2], row[4*x+3])
				o += 3
			}
		}
	default:
		// Generic path: non-premultiplied RGB, alpha dropped as PIL's convert("RGB") does.
		o := 0
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				c := color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA)
				out[o], out[o+1], out[o+2] = c.R, c.G, c.B
				o += 3
			}
		}
	}
	return p
}

// ycbcrToRGB converts a YCbCr image (what JPEG decoding gives) with the arithmetic of color.YCbCrToRGB, row by row.
func ycbcrToRGB(m *image.YCbCr, out []uint8) {
	b := m.Rect
	w, h := b.Dx(), b.Dy()
	sx := 0
	// Horizontal chroma subsampling shift; vertical subsampling is handled by COffset.
	switch m.SubsampleRatio {
	case image.YCbCrSubsampleRatio420, image.YCbCrSubsampleRatio422:
		sx = 1
	case image.YCbCrSubsampleRatio411, image.YCbCrSubsampleRatio410:
		sx = 2
	}
	clamp := func(v int32) uint8 {
		if uint32(v)&0xff000000 == 0 {
			return uint8(v >> 16)
		}
		return uint8(^(v >> 31))
	}
	for y := range h {
		yRow := m.Y[m.YOffset(b.Min.X, b.Min.Y+y):]
		c0 := m.COffset(b.Min.X, b.Min.Y+y)
		cbRow, crRow := m.Cb[c0:], m.Cr[c0:]
		cxBase := b.Min.X >> sx
		o := out[y*w*3 : (y+1)*w*3]
		for x := range w {
			ci := ((b.Min.X + x) >> sx) - cxBase
			yy := int32(yRow[x]) * 0x10101
			cb := int32(cbRow[ci]) - 128
			cr := int32(crRow[ci]) - 128
			o[3*x] = clamp(yy + 91881*cr)
			o[3*x+1] = clamp(yy - 22554*cb - 46802*cr)
			o[3*x+2] = clamp(yy + 116130*cb)
		}
	}
}
