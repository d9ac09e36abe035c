package datasets

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"os"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// gridLabelHeight is the height of the caption under each picture (basicfont.Face7x13 is 13 pixels high).
const gridLabelHeight = 16

// Grid draws the images of a batch in a grid of cols columns, each with its caption (captions[i], truncated to the
// picture width) underneath. Values in [-1, 1] map back to 0..255; grey images are drawn grey.
func Grid(b *Batch, captions []string, cols int) *image.RGBA {
	cols = max(1, min(cols, b.N))
	rows := (b.N + cols - 1) / cols
	const pad = 4
	cellW, cellH := b.Width+pad, b.Height+gridLabelHeight+pad
	img := image.NewRGBA(image.Rect(0, 0, cols*cellW+pad, rows*cellH+pad))
	draw.Draw(img, img.Bounds(), image.NewUniform(color.RGBA{255, 255, 255, 255}), image.Point{}, draw.Src)
	face := basicfont.Face7x13
	per := b.Height * b.Width * b.Channels
	for k := range b.N {
		x0, y0 := pad+(k%cols)*cellW, pad+(k/cols)*cellH
		pix := b.Images[k*per : (k+1)*per]
		for y := range b.Height {
			for x := range b.Width {
				var c [3]uint8
				for ch := range 3 {
					v := pix[(y*b.Width+x)*b.Channels+min(ch, b.Channels-1)]
					c[ch] = uint8(max(0, min(255, v*127.5+127.5+0.5)))
				}
				img.SetRGBA(x0+x, y0+y, color.RGBA{c[0], c[1], c[2], 255})
			}
		}
		if k < len(captions) {
			text := captions[k]
			maxChars := max(1, b.Width/7)
			if len(text) > maxChars {
				text = text[:max(1, maxChars-1)] + "~"
			}
			d := font.Drawer{Dst: img, Src: image.NewUniform(color.RGBA{0, 0, 0, 255}), Face: face,
				Dot: fixed.P(x0, y0+b.Height+face.Ascent+2)}
			d.DrawString(text)
		}
	}
	return img
}

// WritePNG writes an image to a PNG file.
func WritePNG(path string, img image.Image) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("writing picture: %w", err)
	}
	if err := png.Encode(f, img); err != nil {
		_ = f.Close()
		return fmt.Errorf("writing picture %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing picture %s: %w", path, err)
	}
	return nil
}
