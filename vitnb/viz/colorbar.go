package viz

import (
	"image"
	"image/color"
	"image/draw"
)

// ColorBar draws the key of a Viridis map from lo (bottom) to hi (top): a bar height pixels tall with the
// values of its bottom, middle and top written beside it, so that a heat map's colours can be read as numbers.
func ColorBar(lo, hi float64, height int) *image.RGBA {
	const barW, gap = 14, 4
	height = max(height, 3*FontHeight)
	labels := []string{formatTick(hi), formatTick((lo + hi) / 2), formatTick(lo)}
	textW := 0
	for _, l := range labels {
		textW = max(textW, TextWidth(l))
	}
	img := image.NewRGBA(image.Rect(0, 0, barW+gap+textW+2, height+FontHeight))
	Fill(img, img.Bounds(), White)
	top := FontHeight / 2
	for y := 0; y < height; y++ {
		Fill(img, image.Rect(0, top+y, barW, top+y+1), Viridis(1-float64(y)/float64(height-1)))
	}
	for i, l := range labels {
		y := top + i*(height-1)/2 - FontHeight/2
		Label(img, barW+gap, y, l, Black)
	}
	return img
}

// WithColorBar places a ColorBar of lo to hi beside img, as tall as img.
func WithColorBar(img image.Image, lo, hi float64) *image.RGBA {
	return HStack(6, img, ColorBar(lo, hi, img.Bounds().Dy()-FontHeight))
}

// MarkCell draws a frame of colour c around cell (row, col) of a rows x cols map stretched over img (a heat map
// or an overlay): the query patch of an attention map.
func MarkCell(img draw.Image, row, col, rows, cols int, c color.Color) {
	b := img.Bounds()
	x0, x1 := b.Min.X+col*b.Dx()/cols, b.Min.X+(col+1)*b.Dx()/cols-1
	y0, y1 := b.Min.Y+row*b.Dy()/rows, b.Min.Y+(row+1)*b.Dy()/rows-1
	w := max(1, min(x1-x0, y1-y0)/8) // the frame's thickness: an eighth of the cell, at least a pixel
	Fill(img, image.Rect(x0, y0, x1+1, y0+w), c)
	Fill(img, image.Rect(x0, y1+1-w, x1+1, y1+1), c)
	Fill(img, image.Rect(x0, y0, x0+w, y1+1), c)
	Fill(img, image.Rect(x1+1-w, y0, x1+1, y1+1), c)
}
