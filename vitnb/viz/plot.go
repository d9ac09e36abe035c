package viz

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/vitnb/vitnb/vitnb/files"

	"golang.org/x/image/font"
	"gonum.org/v1/plot"
	pfont "gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
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

// Plot is a 2D chart: lines or dots with error bars, axes with round ticks, a title and a legend, drawn by
// gonum.org/v1/plot with anti-aliased text in Go Regular. Image draws it as a picture (a notebook stores it as
// PNG), SVG as a vector drawing (what a user saves for a report: SaveSVG).
//
// The legend goes in the corner of the data area that covers the fewest points, lines and error bars; when each
// corner would cover some, it goes under the plot.
type Plot struct {
	Title, XLabel, YLabel string
	Series                []Series
	// LogY draws the y axis on a log10 scale (values <= 0 are skipped).
	LogY bool
	// LogX draws the x axis on a log10 scale (points with x <= 0 are skipped), ticks at 1, 2 and 5 times powers
	// of 10 when the range spans few decades.
	LogX bool
	// YFrom and YTo fix the range of the y axis when YFrom < YTo (with LogY, of the values, not their logs), so
	// that plots side by side share a scale; by default the range fits the data. Points outside are not drawn
	// and error bars are cut at the edges.
	YFrom, YTo float64
	// Width and Height in pixels (default 560 x 360).
	Width, Height int
}

// plotDPI is the resolution plots are drawn at: a point of gonum's lengths is 4/3 pixels, so that 10-point tick
// labels are 13 pixels tall.
const plotDPI = 96

// pixels returns the plot's size in pixels.
func (p Plot) pixels() (w, h int) {
	w, h = p.Width, p.Height
	if w <= 0 {
		w = 560
	}
	if h <= 0 {
		h = 360
	}
	return w, h
}

// points returns the plot's size in gonum's points.
func (p Plot) points() (w, h vg.Length) {
	pw, ph := p.pixels()
	return vg.Length(pw) * vg.Inch / plotDPI, vg.Length(ph) * vg.Inch / plotDPI
}

// Image draws the plot as a picture of Width x Height pixels.
func (p Plot) Image() (*image.RGBA, error) {
	if err := p.check(); err != nil {
		return nil, err
	}
	w, h := p.points()
	c := vgimg.NewWith(vgimg.UseWH(w, h), vgimg.UseDPI(plotDPI))
	if err := p.draw(draw.New(c)); err != nil {
		return nil, err
	}
	img, ok := c.Image().(*image.RGBA)
	if !ok {
		return nil, fmt.Errorf("viz: gonum drew a %T, not an *image.RGBA", c.Image())
	}
	return img, nil
}

// SVG draws the plot as an SVG document (text as <text> elements in Go Regular, the font embedded), the same
// layout as Image at 96 pixels per inch.
func (p Plot) SVG() ([]byte, error) {
	if err := p.check(); err != nil {
		return nil, err
	}
	w, h := p.points()
	c := vgsvg.NewWith(vgsvg.UseWH(w, h), vgsvg.EmbedFonts(true))
	if err := p.draw(draw.New(c)); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if _, err := c.WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("viz: writing plot %q as SVG: %w", p.Title, err)
	}
	return buf.Bytes(), nil
}

// SaveSVG writes the plot p as an SVG file at path (a figure for a report), through a temporary file renamed
// into place. SavePNG saves its Image.
func SaveSVG(path string, p Plot) error {
	svg, err := p.SVG()
	if err != nil {
		return err
	}
	return files.WriteAtomic(path, func(w io.Writer) error { _, err := w.Write(svg); return err })
}

// check returns an error for series whose lengths do not match.
func (p Plot) check() error {
	for _, s := range p.Series {
		if len(s.X) != len(s.Y) {
			return fmt.Errorf("viz: series %q has %d x and %d y values", s.Name, len(s.X), len(s.Y))
		}
		if s.YErr != nil && len(s.YErr) != len(s.Y) {
			return fmt.Errorf("viz: series %q has %d y values and %d error bars", s.Name, len(s.Y), len(s.YErr))
		}
	}
	return nil
}

// axisRange is the range of one axis, in the axis' own units (log10 of the values on a log axis).
type axisRange struct {
	log      bool
	min, max float64
}

func (a axisRange) to(v float64) float64 { // value to axis units
	if a.log {
		return math.Log10(v)
	}
	return v
}

func (a axisRange) from(t float64) float64 { // axis units to value
	if a.log {
		return math.Pow(10, t)
	}
	return t
}

// ok reports whether a value can be drawn on the axis (finite, and positive on a log axis).
func (a axisRange) ok(v float64) bool {
	t := a.to(v)
	return !math.IsNaN(t) && !math.IsInf(t, 0)
}

// inside reports whether v lies in the range (with a little slack for rounding).
func (a axisRange) inside(v float64) bool {
	t, eps := a.to(v), 1e-9*(a.max-a.min)
	return t >= a.min-eps && t <= a.max+eps
}

// ranges returns the ranges of the axes: those of the drawable points and their error bars, the y range
// padded by 5%, or YFrom to YTo; the x range is padded by 3% when a series draws dots or error bars.
func (p Plot) ranges() (x, y axisRange, err error) {
	x, y = axisRange{log: p.LogX}, axisRange{log: p.LogY}
	x.min, x.max, y.min, y.max = math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)
	for _, s := range p.Series {
		for i := range s.X {
			if !x.ok(s.X[i]) || !y.ok(s.Y[i]) {
				continue
			}
			tx, ty := x.to(s.X[i]), y.to(s.Y[i])
			x.min, x.max = min(x.min, tx), max(x.max, tx)
			y.min, y.max = min(y.min, ty), max(y.max, ty)
			lo, hi := s.errorBar(i)
			if y.ok(lo) {
				y.min = min(y.min, y.to(lo))
			}
			if y.ok(hi) {
				y.max = max(y.max, y.to(hi))
			}
		}
	}
	if math.IsInf(x.min, 1) {
		return x, y, fmt.Errorf("viz: plot %q has no finite points", p.Title)
	}
	if x.max == x.min {
		x.min, x.max = x.min-1, x.max+1
	}
	if y.max == y.min {
		y.min, y.max = y.min-1, y.max+1
	}
	pad := 0.05 * (y.max - y.min)
	y.min, y.max = y.min-pad, y.max+pad
	if p.dots() { // a dot or an error bar at the first or last x would be cut in half by the frame
		pad := 0.03 * (x.max - x.min)
		x.min, x.max = x.min-pad, x.max+pad
	}
	if p.YFrom < p.YTo && (!p.LogY || p.YFrom > 0) {
		y.min, y.max = y.to(p.YFrom), y.to(p.YTo)
	}
	return x, y, nil
}

// dots reports whether a series draws a dot or an error bar on its points.
func (p Plot) dots() bool {
	for _, s := range p.Series {
		if s.Points || s.Markers || s.YErr != nil {
			return true
		}
	}
	return false
}

// drawnSeries is what of a Series is drawn: runs of consecutive drawable points (a line breaks where a point is
// missing), and the error bars cut to the y range.
type drawnSeries struct {
	runs [][]vg.Point // data coordinates
	bars []errBar
}

type errBar struct{ x, lo, hi float64 }

// drawable returns the parts of s that can be drawn within the ranges.
func drawable(s Series, x, y axisRange) drawnSeries {
	var d drawnSeries
	var run []vg.Point
	for i := range s.X {
		if !x.ok(s.X[i]) || !y.ok(s.Y[i]) || !y.inside(s.Y[i]) {
			if len(run) > 0 {
				d.runs, run = append(d.runs, run), nil
			}
			continue
		}
		run = append(run, vg.Point{X: vg.Length(s.X[i]), Y: vg.Length(s.Y[i])})
		if lo, hi := s.errorBar(i); lo != hi {
			lo, hi = max(lo, y.from(y.min)), min(hi, y.from(y.max)) // a log axis: from(min) > 0
			if !y.ok(lo) {
				lo = y.from(y.min)
			}
			d.bars = append(d.bars, errBar{s.X[i], lo, hi})
		}
	}
	if len(run) > 0 {
		d.runs = append(d.runs, run)
	}
	return d
}

// textStyle is the style of a plot's text at size points.
func textStyle(size vg.Length) text.Style {
	goFonts() // registers the Go fonts in gonum's cache
	return text.Style{Color: color.Black, Font: pfont.Font{Typeface: typeface, Size: size},
		XAlign: draw.XLeft, YAlign: draw.YBottom, Handler: plot.DefaultTextHandler}
}

// gonumPlot builds the gonum plot of p (without its legend) and the legend's entries.
func (p Plot) gonumPlot() (*plot.Plot, *plot.Legend, []drawnSeries, error) {
	xr, yr, err := p.ranges()
	if err != nil {
		return nil, nil, nil, err
	}
	gp := plot.New()
	gp.Title.Text = p.Title
	gp.Title.TextStyle = textStyle(12)
	gp.Title.TextStyle.Font.Weight = font.WeightBold
	gp.Title.TextStyle.XAlign, gp.Title.TextStyle.YAlign = draw.XCenter, draw.YTop
	gp.Title.Padding = vg.Points(6)
	if wpt, _ := p.points(); p.Title != "" { // a long title wraps at the plot's width
		gp.Title.Text = wrap(p.Title, wpt-vg.Points(8), gp.Title.TextStyle)
	}
	for _, a := range []*plot.Axis{&gp.X, &gp.Y} {
		a.Tick.Label = textStyle(10)
		a.Tick.Label.XAlign, a.Tick.Label.YAlign = draw.XCenter, draw.YTop
		a.Padding = vg.Points(2)
	}
	pw, ph := p.pixels()
	gp.X.Tick.Marker = linearTicker{n: max(3, pw/80), integers: p.integerX()}
	gp.Y.Tick.Marker = linearTicker{n: max(3, ph/60)}
	gp.Y.Tick.Label.XAlign, gp.Y.Tick.Label.YAlign = draw.XRight, draw.YCenter
	if p.LogX { // labels side by side need room: 1, 2 and 5 labelled where a decade is 150 pixels wide or more
		gp.X.Scale, gp.X.Tick.Marker = plot.LogScale{}, logTicker{pixels: float64(pw - 80), minDecade: 150}
	}
	if p.LogY {
		gp.Y.Scale, gp.Y.Tick.Marker = plot.LogScale{}, logTicker{pixels: float64(ph - 80), minDecade: 70}
	}
	grid := plotter.NewGrid()
	grid.Vertical.Color, grid.Horizontal.Color = LightGrey, LightGrey
	grid.Vertical.Width, grid.Horizontal.Width = vg.Points(0.75), vg.Points(0.75)
	gp.Add(grid)

	legend := new(plot.Legend)
	*legend = plot.NewLegend()
	legend.TextStyle = textStyle(10)
	legend.ThumbnailWidth = vg.Points(18)
	legend.Top, legend.Left = true, true
	var drawn []drawnSeries
	entries := 0
	for si, s := range p.Series {
		c := Palette[si%len(Palette)]
		d := drawable(s, xr, yr)
		drawn = append(drawn, d)
		var thumbs []plot.Thumbnailer
		lineStyle := draw.LineStyle{Color: c, Width: vg.Points(1.5)}
		glyphs := draw.GlyphStyle{Color: c, Radius: vg.Points(2.5), Shape: draw.CircleGlyph{}}
		for _, run := range d.runs {
			xys := make(plotter.XYs, len(run))
			for i, pt := range run {
				xys[i] = plotter.XY{X: float64(pt.X), Y: float64(pt.Y)}
			}
			if !s.Points {
				l, err := plotter.NewLine(xys)
				if err != nil {
					return nil, nil, nil, fmt.Errorf("viz: series %q: %w", s.Name, err)
				}
				l.LineStyle = lineStyle
				gp.Add(l)
				if len(thumbs) == 0 {
					thumbs = append(thumbs, l)
				}
			}
			if s.Points || s.Markers {
				sc, err := plotter.NewScatter(xys)
				if err != nil {
					return nil, nil, nil, fmt.Errorf("viz: series %q: %w", s.Name, err)
				}
				sc.GlyphStyle = glyphs
				gp.Add(sc)
				if len(thumbs) < 2 {
					thumbs = append(thumbs, sc)
				}
			}
		}
		if len(d.bars) > 0 {
			eb := &plotter.YErrorBars{LineStyle: draw.LineStyle{Color: c, Width: vg.Points(1)}, CapWidth: vg.Points(6)}
			for _, b := range d.bars {
				mid := (b.lo + b.hi) / 2
				eb.XYs = append(eb.XYs, plotter.XY{X: b.x, Y: mid})
				eb.YErrors = append(eb.YErrors, struct{ Low, High float64 }{mid - b.lo, b.hi - mid})
			}
			gp.Add(eb)
		}
		if s.Name != "" && len(thumbs) > 0 {
			legend.Add(s.Name, thumbs...)
			entries++
		}
	}
	gp.X.Min, gp.X.Max = xr.from(xr.min), xr.from(xr.max)
	gp.Y.Min, gp.Y.Max = yr.from(yr.min), yr.from(yr.max)
	if entries == 0 {
		legend = nil
	}
	return gp, legend, drawn, nil
}

// layout is where the parts of a plot go on a canvas.
type layout struct {
	plot   *plot.Plot
	legend *plot.Legend
	// area holds the plot and its axis labels, plotArea the plot without them (the title, axes and data);
	// legendBox is the legend's box (zero without a legend); outside says whether it is under the plot rather
	// than in a corner of the data area.
	area, plotArea draw.Canvas
	legendBox      vg.Rectangle
	outside        bool
	// covered is the number of sampled points of the series inside the legend's box.
	covered int
	// xLabel and yLabel are the axis labels, drawn by draw: gonum places a centred label by the mean of the
	// axis' ends, which on a log axis is far from the centre.
	xLabel, yLabel string
}

// legendMargin is the space between the legend's box and its text, and between the box and the frame.
const legendMargin = vg.Length(4)

// axisLabelStyle is the style of the axis labels.
func axisLabelStyle() text.Style {
	s := textStyle(11)
	s.XAlign, s.YAlign = draw.XCenter, draw.YBottom
	return s
}

// withoutLabels returns c less the strips of the axis labels (left and bottom).
func (l *layout) withoutLabels(c draw.Canvas) draw.Canvas {
	sty := axisLabelStyle()
	var left, bottom vg.Length
	if l.yLabel != "" {
		left = sty.FontExtents().Height + vg.Points(3)
	}
	if l.xLabel != "" {
		bottom = sty.FontExtents().Height + vg.Points(3)
	}
	return draw.Crop(c, left, 0, bottom, 0)
}

// arrange lays the plot out on c: it tries the legend in the four corners of the data area (top right first)
// and keeps the one that covers the fewest points of the series; when each covers some, the legend goes under
// the plot.
func (p Plot) arrange(c draw.Canvas) (*layout, error) {
	gp, legend, drawn, err := p.gonumPlot()
	if err != nil {
		return nil, err
	}
	l := &layout{plot: gp, legend: legend, area: c, xLabel: p.XLabel, yLabel: p.YLabel}
	gp.X.Label.Text, gp.Y.Label.Text = "", ""
	l.plotArea = l.withoutLabels(c)
	if legend == nil {
		return l, nil
	}
	size := legend.Rectangle(draw.Canvas{}).Size()
	w, h := size.X+2*legendMargin, size.Y+2*legendMargin+legend.TextStyle.FontExtents().Descent
	data := gp.DataCanvas(l.plotArea)
	samples := sampleSeries(gp, data, drawn)
	best := -1
	for _, corner := range [][2]bool{{true, false}, {true, true}, {false, false}, {false, true}} { // {top, left}
		top, left := corner[0], corner[1]
		var r vg.Rectangle
		if left {
			r.Min.X = data.Min.X + legendMargin
		} else {
			r.Min.X = data.Max.X - legendMargin - w
		}
		if top {
			r.Min.Y = data.Max.Y - legendMargin - h
		} else {
			r.Min.Y = data.Min.Y + legendMargin
		}
		r.Max = vg.Point{X: r.Min.X + w, Y: r.Min.Y + h}
		n := 0
		for _, s := range samples {
			if s.X >= r.Min.X && s.X <= r.Max.X && s.Y >= r.Min.Y && s.Y <= r.Max.Y {
				n++
			}
		}
		if best < 0 || n < best {
			best, l.legendBox = n, r
		}
	}
	l.covered = best
	if best > 0 || l.legendBox.Min.X < data.Min.X || l.legendBox.Min.Y < data.Min.Y {
		// Under the plot, left-aligned with the data area: the plot gives up the legend's height.
		l.outside = true
		l.area = draw.Crop(c, 0, 0, h+legendMargin, 0)
		l.plotArea = l.withoutLabels(l.area)
		left := gp.DataCanvas(l.plotArea).Min.X
		l.legendBox = vg.Rectangle{Min: vg.Point{X: left, Y: c.Min.Y + legendMargin/2},
			Max: vg.Point{X: min(left+w, c.Max.X), Y: c.Min.Y + legendMargin/2 + h}}
		l.covered = 0
	}
	return l, nil
}

// sampleSeries returns points along everything the series draw (their points, lines and error bars), in the
// coordinates of the data canvas.
func sampleSeries(gp *plot.Plot, data draw.Canvas, drawn []drawnSeries) []vg.Point {
	tx, ty := gp.Transforms(&data)
	var out []vg.Point
	segment := func(a, b vg.Point) {
		const steps = 24
		for k := 0; k <= steps; k++ {
			f := vg.Length(k) / steps
			out = append(out, vg.Point{X: a.X + f*(b.X-a.X), Y: a.Y + f*(b.Y-a.Y)})
		}
	}
	for _, d := range drawn {
		for _, run := range d.runs {
			for i, pt := range run {
				q := vg.Point{X: tx(float64(pt.X)), Y: ty(float64(pt.Y))}
				if i == 0 {
					out = append(out, q)
				} else {
					segment(vg.Point{X: tx(float64(run[i-1].X)), Y: ty(float64(run[i-1].Y))}, q)
				}
			}
		}
		for _, b := range d.bars {
			segment(vg.Point{X: tx(b.x), Y: ty(b.lo)}, vg.Point{X: tx(b.x), Y: ty(b.hi)})
		}
	}
	return out
}

// draw draws the plot and its legend on c.
func (p Plot) draw(c draw.Canvas) error {
	l, err := p.arrange(c)
	if err != nil {
		return err
	}
	l.plot.Draw(l.plotArea)
	data := l.plot.DataCanvas(l.plotArea)
	sty := axisLabelStyle()
	if l.xLabel != "" {
		c.FillText(sty, vg.Point{X: data.Center().X, Y: l.area.Min.Y + sty.FontExtents().Descent}, l.xLabel)
	}
	if l.yLabel != "" {
		sty.Rotation = math.Pi / 2
		c.FillText(sty, vg.Point{X: l.area.Min.X + sty.FontExtents().Height - sty.FontExtents().Descent,
			Y: data.Center().Y}, l.yLabel)
	}
	if l.legend != nil {
		box := l.legendBox
		c.SetColor(color.NRGBA{255, 255, 255, 220})
		c.Fill(box.Path())
		c.SetLineStyle(draw.LineStyle{Color: Grey, Width: vg.Points(0.5)})
		c.Stroke(box.Path())
		inner := draw.Canvas{Canvas: c.Canvas, Rectangle: vg.Rectangle{
			Min: vg.Point{X: box.Min.X + legendMargin, Y: box.Min.Y + legendMargin},
			Max: vg.Point{X: box.Max.X - legendMargin, Y: box.Max.Y - legendMargin}}}
		l.legend.Draw(inner)
	}
	return nil
}

// wrap breaks text into lines (at spaces) no wider than width in style sty; a word wider than width has a line of
// its own.
func wrap(s string, width vg.Length, sty text.Style) string {
	var lines []string
	line := ""
	for _, w := range strings.Fields(s) {
		switch {
		case line == "":
			line = w
		case sty.Width(line+" "+w) > width:
			lines, line = append(lines, line), w
		default:
			line += " " + w
		}
	}
	return strings.Join(append(lines, line), "\n")
}

// linearTicker puts about n labelled ticks on a linear axis, at round values: 1, 2 or 5 times a power of 10
// apart; with integers (an axis of counts: blocks, steps, classes) never less than 1 apart, so no tick falls
// between two whole numbers.
type linearTicker struct {
	n        int
	integers bool
}

// Ticks implements plot.Ticker.
func (t linearTicker) Ticks(lo, hi float64) []plot.Tick {
	raw := (hi - lo) / float64(t.n)
	if !(raw > 0) || math.IsInf(raw, 0) {
		return []plot.Tick{{Value: lo, Label: formatTick(lo)}}
	}
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := 10 * mag
	for _, m := range []float64{1, 2, 5} {
		if m*mag >= raw {
			step = m * mag
			break
		}
	}
	if t.integers && step < 1 {
		step = 1
	}
	var out []plot.Tick
	for i := math.Ceil(lo / step); i*step <= hi+1e-9*step; i++ {
		v := i * step
		if math.Abs(v) < 1e-9*step {
			v = 0 // no "-0"
		}
		out = append(out, plot.Tick{Value: v, Label: formatTick(v)})
	}
	return out
}

// integerX reports whether every x value of every series is a whole number (block 1, 2, ...), so that the x
// axis has ticks at whole numbers only.
func (p Plot) integerX() bool {
	for _, s := range p.Series {
		for _, x := range s.X {
			if x != math.Trunc(x) {
				return false
			}
		}
	}
	return true
}

// logTicker puts the ticks of a log axis at powers of 10, with 2 and 5 times them labelled when the range spans
// fewer than 3 decades (and 1.5, 3, 7 when less than one) and a decade is at least minDecade of the axis' pixels
// (about pixels long; 0: no limit), and unlabelled minor ticks at the other multiples.
type logTicker struct{ pixels, minDecade float64 }

// Ticks implements plot.Ticker.
func (t logTicker) Ticks(lo, hi float64) []plot.Tick {
	llo, lhi := math.Log10(lo), math.Log10(hi)
	mult := []float64{1}
	span := lhi - llo
	switch roomy := t.pixels == 0 || t.pixels/span >= t.minDecade; {
	case span < 1:
		mult = []float64{1, 1.5, 2, 3, 5, 7}
	case span < 3 && roomy:
		mult = []float64{1, 2, 5}
	}
	var out []plot.Tick
	for e := math.Floor(llo); e <= math.Ceil(lhi); e++ {
		for m := 1.0; m < 10; m++ {
			v := m * math.Pow(10, e)
			if v < lo*(1-1e-9) || v > hi*(1+1e-9) {
				continue
			}
			t := plot.Tick{Value: v}
			for _, lm := range mult {
				if lm == m {
					t.Label = formatTick(v)
				}
			}
			out = append(out, t)
		}
		for _, lm := range mult { // labelled multiples that are not whole: 1.5
			if v := lm * math.Pow(10, e); lm != math.Trunc(lm) && v >= lo && v <= hi {
				out = append(out, plot.Tick{Value: v, Label: formatTick(v)})
			}
		}
	}
	return out
}

// formatTick writes a tick's value: plain decimals, or up to 2 significant digits with a short exponent ("1e7",
// "2.5e-4") for very large or small values.
func formatTick(v float64) string {
	if v != 0 && (math.Abs(v) >= 1e5 || math.Abs(v) < 1e-3) {
		e := int(math.Floor(math.Log10(math.Abs(v))))
		m := math.Round(v/math.Pow(10, float64(e))*10) / 10
		if math.Abs(m) >= 10 { // 9.96 rounds up to 10
			m, e = m/10, e+1
		}
		return strconv.FormatFloat(m, 'f', -1, 64) + "e" + strconv.Itoa(e)
	}
	return strconv.FormatFloat(math.Round(v*1e4)/1e4, 'f', -1, 64)
}
