package viz

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"math"
	"slices"
	"strconv"
)

// Palette colours the series of a Plot, in order.
var Palette = []color.RGBA{
	{31, 119, 180, 255}, {255, 127, 14, 255}, {44, 160, 44, 255}, {214, 39, 40, 255},
	{148, 103, 189, 255}, {140, 86, 75, 255}, {227, 119, 194, 255}, {127, 127, 127, 255},
}

// Series is one named set of points of a Plot.
type Series struct {
	Name string
	X, Y []float64
	// Points draws a dot per point instead of a line through them.
	Points bool
	// Markers draws a dot on each point of the line as well.
	Markers bool
	// YErr, when not nil, holds for each point the half-height of a vertical error bar drawn from Y-YErr to
	// Y+YErr (for example the standard deviation over seeds); it has one value per point.
	YErr []float64
}

// errorBar returns the bottom and top of point i's error bar (both Y[i] without YErr).
func (s Series) errorBar(i int) (lo, hi float64) {
	if s.YErr == nil || math.IsNaN(s.YErr[i]) {
		return s.Y[i], s.Y[i]
	}
	e := math.Abs(s.YErr[i])
	return s.Y[i] - e, s.Y[i] + e
}

// Plot is a simple 2D chart drawn as a PNG picture: lines or dots, axes with ticks, a title and a legend.
type Plot struct {
	Title, XLabel, YLabel string
	Series                []Series
	// LogY draws the y axis on a log10 scale (values <= 0 are skipped).
	LogY bool
	// LogX draws the x axis on a log10 scale (points with x <= 0 are skipped), ticks at 1, 2 and 5 times powers
	// of 10.
	LogX bool
	// YFrom and YTo fix the range of the y axis when YFrom < YTo (with LogY, of the values, not their logs), so
	// that plots side by side share a scale; by default the range fits the data.
	YFrom, YTo float64
	// Width and Height in pixels (default 560 x 360).
	Width, Height int
}

// Image draws the plot.
func (p Plot) Image() (*image.RGBA, error) {
	w, h := p.Width, p.Height
	if w <= 0 {
		w = 560
	}
	if h <= 0 {
		h = 360
	}
	ty := func(v float64) float64 {
		if p.LogY {
			return math.Log10(v)
		}
		return v
	}
	tx := func(v float64) float64 {
		if p.LogX {
			return math.Log10(v)
		}
		return v
	}
	xmin, xmax, ymin, ymax := math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)
	for _, s := range p.Series {
		if len(s.X) != len(s.Y) {
			return nil, fmt.Errorf("viz: series %q has %d x and %d y values", s.Name, len(s.X), len(s.Y))
		}
		if s.YErr != nil && len(s.YErr) != len(s.Y) {
			return nil, fmt.Errorf("viz: series %q has %d y values and %d error bars", s.Name, len(s.Y), len(s.YErr))
		}
		for i := range s.X {
			x, y := tx(s.X[i]), ty(s.Y[i])
			if math.IsNaN(y) || math.IsInf(y, 0) || math.IsNaN(x) || math.IsInf(x, 0) {
				continue
			}
			lo, hi := s.errorBar(i)
			xmin, xmax = min(xmin, x), max(xmax, x)
			ymin, ymax = min(ymin, y, finiteOr(ty(lo), y)), max(ymax, y, finiteOr(ty(hi), y))
		}
	}
	if math.IsInf(xmin, 1) {
		return nil, fmt.Errorf("viz: plot %q has no finite points", p.Title)
	}
	if xmax == xmin {
		xmin, xmax = xmin-1, xmax+1
	}
	if ymax == ymin {
		ymin, ymax = ymin-1, ymax+1
	}
	pad := 0.05 * (ymax - ymin)
	ymin, ymax = ymin-pad, ymax+pad
	if p.YFrom < p.YTo && (!p.LogY || p.YFrom > 0) {
		ymin, ymax = ty(p.YFrom), ty(p.YTo)
	}
	for _, s := range p.Series {
		if s.Points || s.Markers { // dots on the frame would be cut in half
			pad = 0.05 * (xmax - xmin)
			xmin, xmax = xmin-pad, xmax+pad
			break
		}
	}

	img := image.NewRGBA(image.Rect(0, 0, w, h))
	Fill(img, img.Bounds(), White)
	left, right, top, bottom := 64, w-16, 44, h-44
	ylabel := p.YLabel
	if p.LogY {
		ylabel += " (log)"
	}
	// Legend: right-aligned rows in the top margin, wrapped so that none runs into the y axis' label; each row
	// after the first moves the plot down.
	var legend [][]int // rows of series indices
	rowW, avail := 0, right-(4+TextWidth(ylabel)+12)
	for si, s := range p.Series {
		if s.Name == "" {
			continue
		}
		ew := TextWidth(s.Name) + 16 + 12 // swatch, name, gap
		if len(legend) == 0 || (rowW+ew > avail && rowW > 0) {
			legend, rowW = append(legend, nil), 0
		}
		legend[len(legend)-1] = append(legend[len(legend)-1], si)
		rowW += ew
	}
	const legendRow = FontHeight + 4
	if len(legend) > 1 {
		top += (len(legend) - 1) * legendRow
	}
	px := func(x float64) int { return left + int(math.Round((x-xmin)/(xmax-xmin)*float64(right-left))) }
	py := func(y float64) int { return bottom - int(math.Round((y-ymin)/(ymax-ymin)*float64(bottom-top))) }

	// Grid, ticks and labels.
	xticks := ticks(xmin, xmax, 6)
	if p.LogX {
		xticks = logTicks(xmin, xmax)
		if len(xticks) > (right-left)/50 { // labels would touch: powers of 10 only
			xticks = slices.DeleteFunc(xticks, func(t float64) bool { return math.Abs(t-math.Round(t)) > 1e-9 })
		}
	}
	for _, t := range xticks {
		x := px(t)
		Fill(img, image.Rect(x, top, x+1, bottom), LightGrey)
		s := formatTick(t)
		if p.LogX {
			s = formatTick(math.Pow(10, t))
		}
		Label(img, x-TextWidth(s)/2, bottom+4, s, Black)
	}
	for _, t := range ticks(ymin, ymax, 5) {
		y := py(t)
		Fill(img, image.Rect(left, y, right, y+1), LightGrey)
		s := formatTick(t)
		if p.LogY {
			s = formatTick(math.Pow(10, t))
		}
		Label(img, left-6-TextWidth(s), y-FontHeight/2, s, Black)
	}
	Fill(img, image.Rect(left, top, left+1, bottom+1), Black)
	Fill(img, image.Rect(left, bottom, right+1, bottom+1), Black)
	Label(img, (w-TextWidth(p.Title))/2, 6, p.Title, Black)
	xlabel := p.XLabel
	if p.LogX {
		xlabel += " (log)"
	}
	Label(img, (left+right-TextWidth(xlabel))/2, h-FontHeight-4, xlabel, Black)
	Label(img, 4, 24, ylabel, Grey)

	for si, s := range p.Series {
		c := Palette[si%len(Palette)]
		prevOK := false
		var x0, y0 int
		for i := range s.X {
			x, y := tx(s.X[i]), ty(s.Y[i])
			if math.IsNaN(y) || math.IsInf(y, 0) || math.IsNaN(x) || math.IsInf(x, 0) || y < ymin || y > ymax {
				prevOK = false // not drawable, or outside a fixed y range
				continue
			}
			x1, y1 := px(x), py(y)
			if lo, hi := s.errorBar(i); lo != hi {
				top, bot := max(py(finiteOr(ty(hi), y)), top), min(py(finiteOr(ty(lo), y)), bottom)
				Fill(img, image.Rect(x1, top, x1+1, bot+1), c)
				Fill(img, image.Rect(x1-3, top, x1+4, top+1), c) // caps
				Fill(img, image.Rect(x1-3, bot, x1+4, bot+1), c)
			}
			if s.Points {
				Fill(img, image.Rect(x1-2, y1-2, x1+3, y1+3), c)
			} else if prevOK {
				line(img, x0, y0, x1, y1, c)
			}
			if s.Markers {
				Fill(img, image.Rect(x1-3, y1-3, x1+4, y1+4), c)
			}
			x0, y0, prevOK = x1, y1, true
		}
	}
	for r, row := range legend {
		lx, ly := right, 24+r*legendRow
		for i := len(row) - 1; i >= 0; i-- {
			si := row[i]
			name := p.Series[si].Name
			lx -= TextWidth(name) + 16
			Fill(img, image.Rect(lx, ly+5, lx+12, ly+8), Palette[si%len(Palette)])
			Label(img, lx+16, ly, name, Black)
			lx -= 12
		}
	}
	return img, nil
}

// finiteOr returns v, or def when v is NaN or infinite (the log of an error bar's bottom below 0).
func finiteOr(v, def float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return def
	}
	return v
}

// line draws a 2-pixel-thick segment.
func line(img draw.Image, x0, y0, x1, y1 int, c color.Color) {
	steps := max(abs(x1-x0), abs(y1-y0), 1)
	for i := 0; i <= steps; i++ {
		x := x0 + (x1-x0)*i/steps
		y := y0 + (y1-y0)*i/steps
		Fill(img, image.Rect(x, y, x+2, y+2), c)
	}
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// ticks returns round values between lo and hi, about n of them.
func ticks(lo, hi float64, n int) []float64 {
	raw := (hi - lo) / float64(n)
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := mag
	for _, m := range []float64{1, 2, 5, 10} {
		if m*mag >= raw {
			step = m * mag
			break
		}
	}
	var out []float64
	for i := math.Ceil(lo / step); i*step <= hi+1e-9*step; i++ {
		t := i * step
		if math.Abs(t) < 1e-9*step {
			t = 0 // no "-0"
		}
		out = append(out, t)
	}
	return out
}

// logTicks returns the log10 of round values between 10^lo and 10^hi: powers of 10, with 2 and 5 times them
// when the range spans fewer than 3 decades (and 1.5, 3, 7 when less than one).
func logTicks(lo, hi float64) []float64 {
	mult := []float64{1}
	switch span := hi - lo; {
	case span < 1:
		mult = []float64{1, 1.5, 2, 3, 5, 7}
	case span < 3:
		mult = []float64{1, 2, 5}
	}
	var out []float64
	for e := math.Floor(lo); e <= math.Ceil(hi); e++ {
		for _, m := range mult {
			if t := e + math.Log10(m); t >= lo-1e-9 && t <= hi+1e-9 {
				out = append(out, t)
			}
		}
	}
	return out
}

func formatTick(v float64) string {
	if v != 0 && (math.Abs(v) >= 1e5 || math.Abs(v) < 1e-3) {
		return strconv.FormatFloat(v, 'g', 2, 64)
	}
	return strconv.FormatFloat(math.Round(v*1e4)/1e4, 'f', -1, 64)
}

// drawAt copies src onto dst with its top-left corner at (x, y).
func drawAt(dst draw.Image, src image.Image, x, y int) {
	b := src.Bounds()
	draw.Draw(dst, image.Rect(x, y, x+b.Dx(), y+b.Dy()), src, b.Min, draw.Src)
}
