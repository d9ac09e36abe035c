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
		for y := range h {
			o := y * w * 3
			for x := range w {
				yi := m.YOffset(b.Min.X+x, b.Min.Y+y)
				ci := m.COffset(b.Min.X+x, b.Min.Y+y)
				r, g, bb := color.YCbCrToRGB(m.Y[yi], m.Cb[ci], m.Cr[ci])
				out[o], out[o+1], out[o+2] = r, g, bb
				o += 3
			}
		}
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
