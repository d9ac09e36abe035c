package datasets

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	_ "image/gif"  // Registers GIF decoding (some "jpg" files of web data sets are GIFs).
	_ "image/jpeg" // Registers JPEG decoding.
	_ "image/png"  // Registers PNG decoding.
	"os"

	_ "golang.org/x/image/bmp"  // Registers BMP, an ImageFolder extension in torchvision.
	_ "golang.org/x/image/tiff" // Registers TIFF, an ImageFolder extension in torchvision.
	_ "golang.org/x/image/webp" // Registers WebP, an ImageFolder extension in torchvision.
)

// DecodeFile decodes an image file into RGB pixels, whatever its format and colour model, as torchvision users get
// with PIL's Image.open(path).convert("RGB"): the format is sniffed from the content, not the extension (so a PNG
// named .jpg works), greyscale is repeated to 3 channels, CMYK is converted to RGB, alpha is dropped and palettes are
// expanded. Errors name the file.
func DecodeFile(path string) (*Pixels, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading image: %w", err)
	}
	p, err := DecodeBytes(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return p, nil
}

// DecodeBytes decodes an encoded image (JPEG, PNG, GIF, BMP, TIFF, WebP) into RGB pixels; see DecodeFile.
func DecodeBytes(data []byte) (*Pixels, error) {
	if len(data) == 0 {
		return nil, fmt.Errorf("empty file, not an image")
	}
	img, format, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		if err == image.ErrFormat {
			head := data[:min(len(data), 8)]
			return nil, fmt.Errorf("not a decodable image: unknown format (first bytes % x)", head)
		}
		return nil, fmt.Errorf("decoding %s image: %w", format, err)
	}
	return ToRGB(img), nil
}

// ToRGB converts any image.Image to 3-channel 8-bit pixels (see DecodeFile for the conversions).
func ToRGB(img image.Image) *Pixels {
	b := img.Bounds()
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
