package viz

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"io"
	"math"

	"github.com/vitnb/vitnb/vitnb/files"
)

// Colours used by the pictures.
var (
	White     = color.RGBA{255, 255, 255, 255}
	Black     = color.RGBA{0, 0, 0, 255}
	Grey      = color.RGBA{160, 160, 160, 255}
	LightGrey = color.RGBA{225, 225, 225, 255}
	Red       = color.RGBA{220, 40, 40, 255}
)

// RGBA is the picture type of the package.
type RGBA = image.RGBA

// EncodePNG returns img as PNG bytes.
func EncodePNG(img image.Image) ([]byte, error) {
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// SavePNG writes img as a PNG file at path, through a temporary file renamed into place.
func SavePNG(path string, img image.Image) error {
	return files.WriteAtomic(path, func(w io.Writer) error { return png.Encode(w, img) })
}

// FromFloats converts one image of h*w*c values in HWC order (c is 1 or 3) to RGBA, mapping lo to black and
// hi to full intensity; values outside are clipped. vitnb models read images in [-1, 1]: use lo=-1, hi=1.
func FromFloats(pix []float32, h, w, c int, lo, hi float32) (*image.RGBA, error) {
	if c != 1 && c != 3 {
		return nil, fmt.Errorf("viz: images must have 1 or 3 channels, got %d", c)
	}
	if len(pix) != h*w*c {
		return nil, fmt.Errorf("viz: %dx%dx%d image needs %d values, got %d", h, w, c, h*w*c, len(pix))
	}
	if hi <= lo {
		return nil, fmt.Errorf("viz: empty value range [%g, %g]", lo, hi)
	}
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	toByte := func(v float32) uint8 {
		t := (v - lo) / (hi - lo)
		return uint8(math.Round(float64(255 * min(max(t, 0), 1))))
	}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			o := (y*w + x) * c
			var r, g, b uint8
			if c == 1 {
				r = toByte(pix[o])
				g, b = r, r
			} else {
				r, g, b = toByte(pix[o]), toByte(pix[o+1]), toByte(pix[o+2])
			}
			img.SetRGBA(x, y, color.RGBA{r, g, b, 255})
		}
	}
	return img, nil
}

// Scale enlarges img by an integer factor with nearest-neighbour sampling (pixels stay crisp squares).
func Scale(img image.Image, factor int) *image.RGBA {
	b := img.Bounds()
	factor = max(factor, 1)
	out := image.NewRGBA(image.Rect(0, 0, b.Dx()*factor, b.Dy()*factor))
	for y := 0; y < out.Bounds().Dy(); y++ {
		for x := 0; x < out.Bounds().Dx(); x++ {
			out.Set(x, y, img.At(b.Min.X+x/factor, b.Min.Y+y/factor))
		}
	}
	return out
}

// Fill paints the rectangle r of img with c.
func Fill(img draw.Image, r image.Rectangle, c color.Color) {
	draw.Draw(img, r, image.NewUniform(c), image.Point{}, draw.Src)
}

// gridMargin is the margin around the cells of Grid.
const gridMargin = 4

// GridSize returns the width and height in pixels of the picture Grid draws for n cells of cellW x cellH pixels
// (scaled, labels included) in rows of cols: what a caller checks before drawing (files.CheckPicture). The sizes
// are float64 so that absurd ones do not wrap around.
func GridSize(n, cols int, cellW, cellH float64) (w, h float64) {
	if cols <= 0 {
		cols = max(n, 1)
	}
	rows := float64((n + cols - 1) / cols)
	return gridMargin + float64(min(cols, n))*(cellW+gridMargin), gridMargin + rows*(cellH+gridMargin)
}

// Grid lays images out in rows of cols, each scaled by scale, separated by a margin, with the label of each
// (labels may be nil or shorter than images) written under it in Go Regular, at a size that grows with the cells
// (labelSize). Every cell is as large as the largest image.
func Grid(images []image.Image, labels []string, cols, scale int) *image.RGBA {
	const margin = gridMargin
	if cols <= 0 {
		cols = max(len(images), 1)
	}
	scale = max(scale, 1)
	cellW, cellH, labelH := 0, 0, 0
	for _, img := range images {
		cellW = max(cellW, img.Bounds().Dx()*scale)
		cellH = max(cellH, img.Bounds().Dy()*scale)
	}
	size := labelSize(cellH)
	for i := range images {
		if i < len(labels) && labels[i] != "" {
			labelH = LineHeight(size) + 2
			cellW = max(cellW, TextWidthSize(labels[i], size))
		}
	}
	w, h := GridSize(len(images), cols, float64(cellW), float64(cellH+labelH))
	out := image.NewRGBA(image.Rect(0, 0, int(w), int(h)))
	Fill(out, out.Bounds(), White)
	for i, img := range images {
		x0 := margin + (i%cols)*(cellW+margin)
		y0 := margin + (i/cols)*(cellH+labelH+margin)
		s := Scale(img, scale)
		dx := (cellW - s.Bounds().Dx()) / 2
		draw.Draw(out, s.Bounds().Add(image.Pt(x0+dx, y0)), s, image.Point{}, draw.Src)
		if i < len(labels) && labels[i] != "" {
			LabelSize(out, x0+(cellW-TextWidthSize(labels[i], size))/2, y0+cellH+1, size, labels[i], Black)
		}
	}
	return out
}

// ContactSheet lays pictures out in a grid of cols columns (0: about the square root of their number) with each
// caption under its picture, cut (ending in "~") to the picture's width.
func ContactSheet(pics []image.Image, captions []string, cols int) *image.RGBA {
	cellH := 0
	for _, p := range pics {
		cellH = max(cellH, p.Bounds().Dy())
	}
	size := labelSize(cellH)
	cut := make([]string, len(captions))
	for k, c := range captions {
		cut[k] = c
		if k < len(pics) {
			room := max(pics[k].Bounds().Dx(), TextWidthSize("m~", size))
			for r := []rune(c); TextWidthSize(cut[k], size) > room && len(r) > 1; {
				r = r[:len(r)-1]
				cut[k] = string(r) + "~"
			}
		}
	}
	if cols <= 0 {
		cols = int(math.Ceil(math.Sqrt(float64(len(pics)))))
	}
	return Grid(pics, cut, cols, 1)
}

// PatchGrid returns img enlarged by scale with the borders of its patch x patch patches drawn in colour c
// and each patch numbered in reading order (when numbers is true and the patches are large enough).
func PatchGrid(img image.Image, patch, scale int, c color.Color, numbers bool) *image.RGBA {
	out := Scale(img, scale)
	w, h := out.Bounds().Dx(), out.Bounds().Dy()
	step := patch * scale
	for x := 0; x <= w; x += step {
		xx := min(x, w-1)
		Fill(out, image.Rect(xx, 0, xx+1, h), c)
	}
	for y := 0; y <= h; y += step {
		yy := min(y, h-1)
		Fill(out, image.Rect(0, yy, w, yy+1), c)
	}
	if numbers && step >= 16 {
		cols := w / step
		for y := 0; y+step <= h; y += step {
			for x := 0; x+step <= w; x += step {
				n := fmt.Sprint((y/step)*cols + x/step)
				if TextWidth(n)+3 < step {
					Fill(out, image.Rect(x+1, y+1, x+3+TextWidth(n), y+2+FontHeight), White)
					Label(out, x+2, y+1, n, c)
				}
			}
		}
	}
	return out
}

// Patches cuts img into its patch x patch patches in reading (row-major) order: the order of the tokens of a
// Vision Transformer. Pixels beyond the last whole patch are dropped.
func Patches(img image.Image, patch int) []image.Image {
	b := img.Bounds()
	var out []image.Image
	for y := b.Min.Y; y+patch <= b.Max.Y; y += patch {
		for x := b.Min.X; x+patch <= b.Max.X; x += patch {
			p := image.NewRGBA(image.Rect(0, 0, patch, patch))
			draw.Draw(p, p.Bounds(), img, image.Pt(x, y), draw.Src)
			out = append(out, p)
		}
	}
	return out
}

// TokenSequence draws the patches of img as the sequence the Transformer reads: one row of patches (scaled),
// wrapped every perRow patches, each numbered by its position; classToken draws a "CLS" box first, as the
// token prepended by the paper's Eq. 1.
func TokenSequence(img image.Image, patch, scale, perRow int, classToken bool) *image.RGBA {
	patches := Patches(img, patch)
	var labels []string
	var tiles []image.Image
	if classToken {
		side := patch
		cls := image.NewRGBA(image.Rect(0, 0, side, side))
		Fill(cls, cls.Bounds(), color.RGBA{255, 200, 80, 255})
		tiles = append(tiles, cls)
		labels = append(labels, "cls")
	}
	for i, p := range patches {
		tiles = append(tiles, p)
		labels = append(labels, fmt.Sprint(i))
	}
	return Grid(tiles, labels, perRow, scale)
}

// HStack places images side by side, top-aligned, separated by gap pixels of white.
func HStack(gap int, images ...image.Image) *image.RGBA {
	w, h := 0, 0
	for i, img := range images {
		if i > 0 {
			w += gap
		}
		w += img.Bounds().Dx()
		h = max(h, img.Bounds().Dy())
	}
	out := image.NewRGBA(image.Rect(0, 0, w, h))
	Fill(out, out.Bounds(), White)
	x := 0
	for _, img := range images {
		draw.Draw(out, img.Bounds().Sub(img.Bounds().Min).Add(image.Pt(x, 0)), img, img.Bounds().Min, draw.Src)
		x += img.Bounds().Dx() + gap
	}
	return out
}

// Titled returns img with a line of text above it.
func Titled(img image.Image, title string) *image.RGBA {
	b := img.Bounds()
	w := max(b.Dx(), TextWidth(title)+4)
	out := image.NewRGBA(image.Rect(0, 0, w, b.Dy()+FontHeight+4))
	Fill(out, out.Bounds(), White)
	Label(out, 2, 1, title, Black)
	draw.Draw(out, image.Rect(0, FontHeight+4, b.Dx(), b.Dy()+FontHeight+4), img, b.Min, draw.Src)
	return out
}

// drawAt copies src onto dst with its top-left corner at (x, y).
func drawAt(dst draw.Image, src image.Image, x, y int) {
	b := src.Bounds()
	draw.Draw(dst, image.Rect(x, y, x+b.Dx(), y+b.Dy()), src, b.Min, draw.Src)
}
