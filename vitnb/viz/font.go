package viz

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"math"
	"sync"

	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"
	pfont "gonum.org/v1/plot/font"
)

// The text of every picture (plots, labels of grids, heat maps, colour bars, confusion matrices, the model map)
// is Go Regular (golang.org/x/image/font/gofont), drawn anti-aliased.
const (
	// FontSize is the size in pixels (the em) of the text Label draws.
	FontSize = 12.0
	// FontHeight is the height in pixels of a line of text drawn by Label (LineHeight(FontSize)).
	FontHeight = 14
)

// typeface is the name the Go fonts are registered under in gonum's font cache.
const typeface pfont.Typeface = "Go"

// goFonts parses the Go fonts once (regular, then bold) and registers them in gonum's font cache, where the
// plots' text styles find them.
var goFonts = sync.OnceValue(func() [2]*opentype.Font {
	var out [2]*opentype.Font
	for i, ttf := range [][]byte{goregular.TTF, gobold.TTF} {
		f, err := opentype.Parse(ttf)
		if err != nil {
			panic(fmt.Sprintf("viz: the Go font does not parse: %v", err)) // built into the binary: cannot happen
		}
		out[i] = f
	}
	pfont.DefaultCache.Add(pfont.Collection{
		{Font: pfont.Font{Typeface: typeface}, Face: out[0]},
		{Font: pfont.Font{Typeface: typeface, Weight: font.WeightBold}, Face: out[1]},
	})
	return out
})

// face returns Go Regular at size pixels, without hinting (the glyphs keep their shapes and are anti-aliased).
// A face is not safe for concurrent use: each call makes its own.
func face(size float64) font.Face {
	f, err := opentype.NewFace(goFonts()[0], &opentype.FaceOptions{Size: size, DPI: 72, Hinting: font.HintingNone})
	if err != nil {
		panic(fmt.Sprintf("viz: a face of the Go font at %g pixels: %v", size, err))
	}
	return f
}

// LineHeight returns the height in pixels of a line of text of size pixels (ascent and descent).
func LineHeight(size float64) int {
	m := face(size).Metrics()
	return (m.Ascent + m.Descent).Ceil()
}

// Label draws text of FontSize pixels with its top-left corner at (x, y) in colour c.
func Label(img draw.Image, x, y int, text string, c color.Color) {
	LabelSize(img, x, y, FontSize, text, c)
}

// LabelSize draws text of size pixels with its top-left corner at (x, y) in colour c, anti-aliased over what is
// there.
func LabelSize(img draw.Image, x, y int, size float64, text string, c color.Color) {
	f := face(size)
	d := &font.Drawer{Dst: img, Src: image.NewUniform(c), Face: f, Dot: fixed.P(x, y).Add(fixed.Point26_6{Y: f.Metrics().Ascent})}
	d.DrawString(text)
}

// TextWidth returns the width in pixels of text drawn by Label.
func TextWidth(text string) int { return TextWidthSize(text, FontSize) }

// TextWidthSize returns the width in pixels of text of size pixels.
func TextWidthSize(text string, size float64) int { return font.MeasureString(face(size), text).Ceil() }

// labelSize is the size of the text under a picture cellH pixels tall: FontSize for small pictures, growing with
// larger ones (a tenth of their height) up to 20 pixels, so that a caption reads at the picture's scale.
func labelSize(cellH int) float64 { return min(max(FontSize, math.Round(float64(cellH)/10)), 20) }
