package datasets

import (
	"image"
	"image/color"
	"strings"
	"testing"

	"github.com/vitnb/vitnb/datasets/datasetstest"
)

// imageOf builds an image.Image of one of the types ToRGB reads directly (or, for kind 5, through At), with any
// bounds and pixel buffer, as a careless or malicious program might hand one over.
func imageOf(kind uint8, rect image.Rectangle, stride, pixLen int) image.Image {
	pix := make([]uint8, pixLen)
	switch kind % 6 {
	case 0:
		return &image.RGBA{Pix: pix, Stride: stride, Rect: rect}
	case 1:
		return &image.NRGBA{Pix: pix, Stride: stride, Rect: rect}
	case 2:
		return &image.Gray{Pix: pix, Stride: stride, Rect: rect}
	case 3:
		return &image.CMYK{Pix: pix, Stride: stride, Rect: rect}
	case 4:
		return &image.YCbCr{Y: pix, Cb: pix, Cr: pix, YStride: stride, CStride: stride / 2,
			SubsampleRatio: image.YCbCrSubsampleRatio420, Rect: rect}
	}
	return &image.Paletted{Pix: pix, Stride: stride, Rect: rect, Palette: color.Palette{color.White}}
}

// TestImagePixels: images given by a program are checked from their bounds before any pixel is allocated or read
// (nil, nil pointers, unbounded, huge, empty), and one whose buffer is shorter than its bounds is an error.
func TestImagePixels(t *testing.T) {
	var nilGray *image.Gray
	cases := map[string]struct {
		img  image.Image
		want string
	}{
		"nil":                {nil, "no image (nil)"},
		"nil pointer":        {nilGray, "cannot tell its bounds"},
		"uniform":            {image.NewUniform(color.Black), "above the limit"},
		"huge":               {&image.RGBA{Rect: image.Rect(0, 0, 200000, 100000)}, "above the limit"},
		"empty":              {image.NewGray(image.Rect(3, 3, 3, 9)), "0x6 pixels"},
		"short buffer":       {&image.Gray{Rect: image.Rect(0, 0, 10, 10), Stride: 10, Pix: make([]uint8, 50)}, "reading the pixels"},
		"short YCbCr":        {imageOf(4, image.Rect(0, 0, 16, 16), 16, 20), "reading the pixels"},
		"overflowing bounds": {&image.RGBA{Rect: image.Rectangle{Min: image.Pt(-1<<62, 0), Max: image.Pt(1<<62, 1)}}, "pixels"},
	}
	p := ReferencePreprocessing(8, 3)
	for name, c := range cases {
		var err error
		n := func() uint64 {
			defer func() {
				if r := recover(); r != nil {
					t.Errorf("%s: panic %v", name, r)
				}
			}()
			return datasetstest.Allocated(func() { _, err = p.Input(c.img, 3) })
		}()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want an error containing %q", name, err, c.want)
		}
		if n > 16<<20 {
			t.Errorf("%s: %d bytes allocated", name, n)
		}
	}
	good, err := p.Input(image.NewGray(image.Rect(5, 7, 25, 17)), 3)
	if err != nil || len(good) != 8*8*3 {
		t.Fatalf("a grey image with an offset origin: %d values, %v", len(good), err)
	}
}

// FuzzImageInput: whatever the type, bounds, stride and buffer of an image, Preprocessing.Input returns model input
// of the right size or an error; it never panics.
func FuzzImageInput(f *testing.F) {
	f.Add(uint8(0), int16(0), int16(0), int16(8), int16(8), 32, uint16(256))
	f.Add(uint8(4), int16(1), int16(-3), int16(17), int16(9), 17, uint16(100))
	f.Add(uint8(2), int16(0), int16(0), int16(300), int16(1), 0, uint16(0))
	p := ReferencePreprocessing(4, 1)
	f.Fuzz(func(t *testing.T, kind uint8, x0, y0, w, h int16, stride int, pixLen uint16) {
		rect := image.Rect(int(x0), int(y0), int(x0)+int(w), int(y0)+int(h))
		x, err := p.Input(imageOf(kind, rect, stride, int(pixLen)), 1)
		if err == nil && len(x) != 4*4 {
			t.Fatalf("%d values for a 4x4 grey input", len(x))
		}
	})
}
