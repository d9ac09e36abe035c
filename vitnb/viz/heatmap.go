package viz

import (
	"fmt"
	"image"
	"image/color"
	"math"

	"github.com/vitnb/vitnb/vitnb/files"
)

// viridisStops are samples of matplotlib's viridis colour map at 0, 1/8, ..., 1.
var viridisStops = [][3]float64{
	{68, 1, 84}, {71, 44, 122}, {59, 81, 139}, {44, 113, 142}, {33, 144, 141},
	{39, 173, 129}, {92, 200, 99}, {170, 220, 50}, {253, 231, 37},
}

// Viridis maps t in [0, 1] (clipped) to matplotlib's viridis colour map: dark blue to yellow.
func Viridis(t float64) color.RGBA {
	if math.IsNaN(t) {
		return color.RGBA{255, 0, 255, 255}
	}
	t = min(max(t, 0), 1) * float64(len(viridisStops)-1)
	i := min(int(t), len(viridisStops)-2)
	f := t - float64(i)
	a, b := viridisStops[i], viridisStops[i+1]
	mix := func(k int) uint8 { return uint8(math.Round(a[k] + f*(b[k]-a[k]))) }
	return color.RGBA{mix(0), mix(1), mix(2), 255}
}

// Diverging maps t in [-1, 1] (clipped) to blue (-1), white (0) and red (1).
func Diverging(t float64) color.RGBA {
	t = min(max(t, -1), 1)
	if t >= 0 {
		v := uint8(math.Round(255 * (1 - t)))
		return color.RGBA{255, v, v, 255}
	}
	v := uint8(math.Round(255 * (1 + t)))
	return color.RGBA{v, v, 255, 255}
}

// Range returns the smallest and largest finite value of values (0, 0 if there is none).
func Range(values []float64) (lo, hi float64) {
	first := true
	for _, v := range values {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			continue
		}
		if first {
			lo, hi, first = v, v, false
		}
		lo, hi = min(lo, v), max(hi, v)
	}
	return lo, hi
}

// HeatMap draws a rows x cols matrix (row-major values) with Viridis, lo mapping to the darkest and hi to
// the brightest colour, each value a scale x scale square. lo == hi uses the values' own range. A picture larger
// than files.CheckPicture allows is an error, before anything is drawn.
func HeatMap(values []float64, rows, cols, scale int, lo, hi float64) (*image.RGBA, error) {
	if rows < 0 || cols < 0 {
		return nil, fmt.Errorf("viz: a heat map of %dx%d cells: the sizes cannot be negative", rows, cols)
	}
	side := float64(max(scale, 1)) // Scale's factor
	if err := files.CheckPicture(float64(rows)*side*float64(cols)*side, fmt.Sprintf("viz: a %dx%d heat map at scale %d", rows, cols, scale),
		"use a smaller scale"); err != nil {
		return nil, err
	}
	if len(values) != rows*cols {
		return nil, fmt.Errorf("viz: a %dx%d heat map needs %d values, got %d", rows, cols, rows*cols, len(values))
	}
	if lo == hi {
		lo, hi = Range(values)
	}
	span := hi - lo
	if span == 0 {
		span = 1
	}
	img := image.NewRGBA(image.Rect(0, 0, cols, rows))
	for i, v := range values {
		img.SetRGBA(i%cols, i/cols, Viridis((v-lo)/span))
	}
	return Scale(img, scale), nil
}

// Upsample resizes a rows x cols map (row-major) to h x w with bilinear interpolation between the centres of
// the cells (edges are clamped), as maps of patches are stretched over their image.
func Upsample(values []float64, rows, cols, h, w int) []float64 {
	out := make([]float64, h*w)
	at := func(r, c int) float64 {
		return values[min(max(r, 0), rows-1)*cols+min(max(c, 0), cols-1)]
	}
	for y := 0; y < h; y++ {
		fy := (float64(y)+0.5)*float64(rows)/float64(h) - 0.5
		r0 := int(math.Floor(fy))
		ty := fy - float64(r0)
		for x := 0; x < w; x++ {
			fx := (float64(x)+0.5)*float64(cols)/float64(w) - 0.5
			c0 := int(math.Floor(fx))
			tx := fx - float64(c0)
			top := at(r0, c0)*(1-tx) + at(r0, c0+1)*tx
			bottom := at(r0+1, c0)*(1-tx) + at(r0+1, c0+1)*tx
			out[y*w+x] = top*(1-ty) + bottom*ty
		}
	}
	return out
}

// Overlay blends a rows x cols map over img: the map is stretched bilinearly over the image, normalised to
// its own range and coloured with Viridis, then mixed with the image with weight alpha (0 shows only the
// image, 1 only the map).
func Overlay(img image.Image, values []float64, rows, cols int, alpha float64) (*image.RGBA, error) {
	if len(values) != rows*cols {
		return nil, fmt.Errorf("viz: a %dx%d map needs %d values, got %d", rows, cols, rows*cols, len(values))
	}
	b := img.Bounds()
	up := Upsample(values, rows, cols, b.Dy(), b.Dx())
	lo, hi := Range(values)
	span := hi - lo
	if span == 0 {
		span = 1
	}
	out := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	for y := 0; y < b.Dy(); y++ {
		for x := 0; x < b.Dx(); x++ {
			r, g, bl, _ := img.At(b.Min.X+x, b.Min.Y+y).RGBA()
			h := Viridis((up[y*b.Dx()+x] - lo) / span)
			mix := func(a uint32, m uint8) uint8 {
				return uint8(math.Round((1-alpha)*float64(a>>8) + alpha*float64(m)))
			}
			out.SetRGBA(x, y, color.RGBA{mix(r, h.R), mix(g, h.G), mix(bl, h.B), 255})
		}
	}
	return out, nil
}

// Mask multiplies img by a rows x cols map stretched over it and normalised to [0, 1] by its maximum: what
// the paper's Fig. 6 shows (the image seen through the attention).
func Mask(img image.Image, values []float64, rows, cols int) (*image.RGBA, error) {
	if len(values) != rows*cols {
		return nil, fmt.Errorf("viz: a %dx%d map needs %d values, got %d", rows, cols, rows*cols, len(values))
	}
	b := img.Bounds()
	up := Upsample(values, rows, cols, b.Dy(), b.Dx())
	_, hi := Range(values)
	if hi <= 0 {
		hi = 1
	}
	out := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	for y := 0; y < b.Dy(); y++ {
		for x := 0; x < b.Dx(); x++ {
			r, g, bl, _ := img.At(b.Min.X+x, b.Min.Y+y).RGBA()
			m := min(max(up[y*b.Dx()+x]/hi, 0), 1)
			out.SetRGBA(x, y, color.RGBA{uint8(float64(r>>8) * m), uint8(float64(g>>8) * m), uint8(float64(bl>>8) * m), 255})
		}
	}
	return out, nil
}
