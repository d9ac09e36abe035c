package viz

import (
	"bytes"
	"encoding/xml"
	"image"
	"image/color"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// plotCanvas returns the canvas Image draws p on, for the layout tests.
func plotCanvas(p Plot) draw.Canvas {
	w, h := p.points()
	return draw.New(vgimg.NewWith(vgimg.UseWH(w, h), vgimg.UseDPI(plotDPI)))
}

// pixel returns the picture's pixel at canvas point pt of a plot hpx pixels tall (canvas y grows upwards).
func pixel(pt vg.Point, hpx int) image.Point {
	return image.Pt(int(pt.X.Dots(plotDPI)), hpx-int(pt.Y.Dots(plotDPI)))
}

// greyLevels counts the distinct neutral grey levels (r = g = b, neither black nor white) in r of img: text drawn
// anti-aliased has many around each glyph, a bitmap font none.
func greyLevels(img *image.RGBA, r image.Rectangle) int {
	levels := map[uint8]bool{}
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			c := img.RGBAAt(x, y)
			if c.R == c.G && c.G == c.B && c.R != 0 && c.R != 255 {
				levels[c.R] = true
			}
		}
	}
	return len(levels)
}

// dark counts the pixels of r darker than mid-grey.
func dark(img *image.RGBA, r image.Rectangle) int {
	n := 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if c := img.RGBAAt(x, y); int(c.R)+int(c.G)+int(c.B) < 3*128 {
				n++
			}
		}
	}
	return n
}

// close reports whether c is within tol of want in each channel (anti-aliased edges blend into the background).
func closeTo(c, want color.RGBA, tol int) bool {
	d := func(a, b uint8) int { return max(int(a)-int(b), int(b)-int(a)) }
	return d(c.R, want.R) <= tol && d(c.G, want.G) <= tol && d(c.B, want.B) <= tol
}

// TestPlotTextAndTicks: the title and the tick labels are drawn in anti-aliased text (many grey levels where a
// bitmap font has none), each labelled tick of the y axis has its label left of the axis at its height, and the
// ticks of linear and log axes are round values.
func TestPlotTextAndTicks(t *testing.T) {
	p := Plot{Title: "Loss against step", XLabel: "step", YLabel: "loss", Series: []Series{
		{Name: "loss", X: []float64{0, 100, 200, 300}, Y: []float64{2.3, 1.1, 0.7, 0.5}}}}
	img, err := p.Image()
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != 560 || b.Dy() != 360 {
		t.Fatalf("plot of %v, want 560x360", b)
	}
	title := image.Rect(0, 0, 560, 30)
	if n, g := dark(img, title), greyLevels(img, title); n < 50 || g < 20 {
		t.Fatalf("title: %d dark pixels and %d grey levels, want text drawn anti-aliased (>= 50, >= 20)", n, g)
	}
	l, err := p.arrange(plotCanvas(p))
	if err != nil {
		t.Fatal(err)
	}
	data := l.plot.DataCanvas(l.plotArea)
	_, ty := l.plot.Transforms(&data)
	ticks := linearTicker{n: 360 / 60}.Ticks(l.plot.Y.Min, l.plot.Y.Max)
	if len(ticks) < 4 {
		t.Fatalf("%d y ticks %v, want at least 4", len(ticks), ticks)
	}
	axis := pixel(data.Min, 360).X
	for _, tk := range ticks {
		y := pixel(vg.Point{Y: ty(tk.Value)}, 360).Y
		if tk.Label == "" || dark(img, image.Rect(axis-30, y-5, axis-2, y+5)) < 5 {
			t.Errorf("tick %v (%q): no label drawn left of the axis at row %d", tk.Value, tk.Label, y)
		}
	}
	long := Plot{Title: strings.Repeat("a long title ", 8), Width: 300, Series: p.Series}
	gp, _, _, err := long.gonumPlot()
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(gp.Title.Text, "\n")
	for _, line := range lines {
		if w, _ := long.points(); gp.Title.TextStyle.Width(line) > w {
			t.Errorf("a line of a long title is %v points wide in a plot of %v", gp.Title.TextStyle.Width(line), w)
		}
	}
	if len(lines) < 3 || strings.Join(strings.Fields(gp.Title.Text), " ") != strings.TrimSpace(long.Title) {
		t.Errorf("a long title wrapped into %q", gp.Title.Text)
	}
	var labels []string
	for _, tk := range (linearTicker{n: 5}).Ticks(0, 1) {
		labels = append(labels, tk.Label)
	}
	if got := strings.Join(labels, " "); got != "0 0.2 0.4 0.6 0.8 1" {
		t.Errorf("linear ticks of [0, 1]: %s", got)
	}
	// An x axis of whole numbers (notebook 3's attention distance per block 1..4) has no tick between them.
	blocks := Plot{Series: []Series{{Name: "head 1", X: []float64{1, 2, 3, 4}, Y: []float64{3, 5, 6, 9}, Points: true}}}
	gpb, _, _, err := blocks.gonumPlot()
	if err != nil {
		t.Fatal(err)
	}
	labels = nil
	for _, tk := range gpb.X.Tick.Marker.Ticks(gpb.X.Min, gpb.X.Max) {
		labels = append(labels, tk.Label)
	}
	if got := strings.Join(labels, " "); got != "1 2 3 4" {
		t.Errorf("x ticks of blocks 1 to 4: %s, want 1 2 3 4", got)
	}
	labels = nil
	minor := 0
	for _, tk := range (logTicker{}).Ticks(500, 63000) {
		if tk.Label == "" {
			minor++
		} else {
			labels = append(labels, tk.Label)
		}
	}
	if got := strings.Join(labels, " "); got != "500 1000 2000 5000 10000 20000 50000" || minor == 0 {
		t.Errorf("log ticks of [500, 63000]: labels %s and %d minor ticks", got, minor)
	}
	labels = nil
	for _, tk := range (logTicker{pixels: 250, minDecade: 150}).Ticks(500, 63000) { // 2.1 decades in 250 pixels
		if tk.Label != "" {
			labels = append(labels, tk.Label)
		}
	}
	if got := strings.Join(labels, " "); got != "1000 10000" {
		t.Errorf("log ticks of [500, 63000] on a short axis: labels %s, want powers of 10 only", got)
	}
	labels = nil
	for _, tk := range (logTicker{}).Ticks(1, 1e6) {
		if tk.Label != "" {
			labels = append(labels, tk.Label)
		}
	}
	if got := strings.Join(labels, " "); got != "1 10 100 1000 10000 1e5 1e6" {
		t.Errorf("6 decades: labels %s, want the 7 powers of 10", got)
	}
	for v, want := range map[float64]string{2.5e-4: "2.5e-4", -3e7: "-3e7", 99999.9: "99999.9", 9.96e6: "1e7", 0: "0", 0.5: "0.5"} {
		if got := formatTick(v); got != want {
			t.Errorf("formatTick(%g) = %q, want %q", v, got, want)
		}
	}
}

// TestPlotLegendPlacement: with points in three corners of the data area the legend goes in the fourth and covers
// none; when every corner holds points, it goes under the data area; its text is drawn in the picture.
func TestPlotLegendPlacement(t *testing.T) {
	corners := Series{Name: "three corners", Points: true}
	for _, c := range [][2]float64{{0, 1}, {1, 1}, {1, 0}} { // top left, top right, bottom right: clusters
		for k := range 5 {
			corners.X = append(corners.X, c[0]+0.02*float64(k)*(1-2*c[0]))
			corners.Y = append(corners.Y, c[1]+0.02*float64(k)*(1-2*c[1]))
		}
	}
	corners.X, corners.Y = append(corners.X, 0.5), append(corners.Y, 0.5)
	p := Plot{Title: "legend", Series: []Series{corners}, Width: 400, Height: 300}
	l, err := p.arrange(plotCanvas(p))
	if err != nil {
		t.Fatal(err)
	}
	data := l.plot.DataCanvas(l.plotArea)
	tx, ty := l.plot.Transforms(&data)
	if l.outside || l.covered != 0 {
		t.Fatalf("legend outside %v covering %d samples, want inside covering none", l.outside, l.covered)
	}
	if l.legendBox.Max.X > data.Center().X || l.legendBox.Max.Y > data.Center().Y {
		t.Fatalf("legend box %v is not in the bottom-left corner of %v", l.legendBox, data.Rectangle)
	}
	for i := range corners.X {
		pt := vg.Point{X: tx(corners.X[i]), Y: ty(corners.Y[i])}
		if pt.X >= l.legendBox.Min.X && pt.X <= l.legendBox.Max.X && pt.Y >= l.legendBox.Min.Y && pt.Y <= l.legendBox.Max.Y {
			t.Fatalf("point %d at %v lies under the legend %v", i, pt, l.legendBox)
		}
	}
	img, err := p.Image()
	if err != nil {
		t.Fatal(err)
	}
	box := image.Rectangle{Min: pixel(vg.Point{X: l.legendBox.Min.X, Y: l.legendBox.Max.Y}, 300),
		Max: pixel(vg.Point{X: l.legendBox.Max.X, Y: l.legendBox.Min.Y}, 300)}
	if dark(img, box) < 30 || greyLevels(img, box) < 10 {
		t.Fatalf("no legend text drawn in the box %v", box)
	}

	// A cloud over the whole area: every corner is covered, the legend goes under the plot.
	cloud := Series{Name: "everywhere", Points: true}
	for i := range 11 {
		for j := range 11 {
			cloud.X, cloud.Y = append(cloud.X, float64(i)), append(cloud.Y, float64(j))
		}
	}
	p = Plot{Series: []Series{cloud, {Name: "a line", X: []float64{0, 10}, Y: []float64{0, 10}}}}
	l, err = p.arrange(plotCanvas(p))
	if err != nil {
		t.Fatal(err)
	}
	data = l.plot.DataCanvas(l.plotArea)
	if !l.outside || l.legendBox.Max.Y > data.Min.Y || l.legendBox.Min.Y < 0 {
		t.Fatalf("legend outside %v at %v, want under the data area %v", l.outside, l.legendBox, data.Rectangle)
	}
}

// TestPlotErrorBarsAndRange: a series with YErr draws a bar of its colour from Y-YErr to Y+YErr, cut at a fixed
// range; a point outside a fixed range is not drawn; a YErr of the wrong length is refused.
func TestPlotErrorBarsAndRange(t *testing.T) {
	s := Series{Name: "mean", X: []float64{0, 1, 2}, Y: []float64{0.5, 0.5, 2}, YErr: []float64{0.25, 0.8, 0}, Points: true}
	p := Plot{Series: []Series{s}, YFrom: 0, YTo: 1, Width: 300, Height: 300}
	d := drawable(s, axisRange{min: 0, max: 2}, axisRange{min: 0, max: 1})
	if len(d.runs) != 1 || len(d.runs[0]) != 2 || len(d.bars) != 2 || d.bars[1].lo != 0 || d.bars[1].hi != 1 {
		t.Fatalf("drawable: %+v, want the 2 points inside the range and the second bar cut to [0, 1]", d)
	}
	img, err := p.Image()
	if err != nil {
		t.Fatal(err)
	}
	l, err := p.arrange(plotCanvas(p))
	if err != nil {
		t.Fatal(err)
	}
	data := l.plot.DataCanvas(l.plotArea)
	tx, ty := l.plot.Transforms(&data)
	x := pixel(vg.Point{X: tx(0)}, 300).X
	top, bottom := pixel(vg.Point{Y: ty(0.75)}, 300).Y, pixel(vg.Point{Y: ty(0.25)}, 300).Y
	coloured := func(y int) bool {
		for dx := -1; dx <= 1; dx++ {
			if closeTo(img.RGBAAt(x+dx, y), Palette[0], 40) {
				return true
			}
		}
		return false
	}
	for y := top + 1; y < bottom; y++ {
		if !coloured(y) {
			t.Fatalf("row %d of the error bar from %d to %d is not the series' colour", y, top, bottom)
		}
	}
	if coloured(top-6) || coloured(bottom+6) {
		t.Fatalf("the error bar runs past 0.5 +- 0.25 (rows %d to %d)", top, bottom)
	}
	if _, err := (Plot{Series: []Series{{X: []float64{1, 2}, Y: []float64{1, 2}, YErr: []float64{1}}}}).Image(); err == nil {
		t.Fatal("no error for an error bar per point missing")
	}
	if _, err := (Plot{Series: []Series{{X: []float64{0, -1}, Y: []float64{1, 2}}}, LogX: true}).Image(); err == nil {
		t.Fatal("no error for a log axis without a positive point")
	}
}

// TestPlotSVG: the SVG of a plot is well-formed XML with the title and tick labels as <text> elements in the
// embedded Go font; SaveSVG writes it to a file.
func TestPlotSVG(t *testing.T) {
	p := Plot{Title: "accuracy <per> step", XLabel: "step", YLabel: "accuracy", LogX: true, Series: []Series{
		{Name: "test", X: []float64{10, 100, 1000}, Y: []float64{0.5, 0.7, 0.8}, YErr: []float64{0.1, 0.05, 0.02}, Markers: true}}}
	svg, err := p.SVG()
	if err != nil {
		t.Fatal(err)
	}
	var texts []string
	dec := xml.NewDecoder(bytes.NewReader(svg))
	inText := false
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("SVG is not well-formed XML: %v", err)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			inText = tok.Name.Local == "text"
		case xml.CharData:
			if inText {
				texts = append(texts, string(tok))
			}
		case xml.EndElement:
			inText = false
		}
	}
	all := strings.Join(texts, "|")
	for _, want := range []string{"accuracy <per> step", "step", "100", "test"} {
		if !strings.Contains("|"+all+"|", "|"+want+"|") {
			t.Errorf("no <text> %q in the SVG (texts: %s)", want, all)
		}
	}
	if !bytes.Contains(svg, []byte(`font-family:"Go"`)) || !bytes.Contains(svg, []byte("font/ttf")) {
		t.Error("the Go font is not embedded in the SVG")
	}
	path := filepath.Join(t.TempDir(), "plot.svg")
	if err := SaveSVG(path, p); err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile(path); err != nil || !bytes.Equal(got, svg) {
		t.Fatalf("saved SVG differs (%d bytes, want %d): %v", len(got), len(svg), err)
	}
	bad := filepath.Join(t.TempDir(), "bad.svg")
	if err := SaveSVG(bad, Plot{Series: []Series{{X: []float64{1}}}}); err == nil {
		t.Fatal("no error saving a plot with a series of 1 x and 0 y values")
	}
	if _, err := os.Stat(bad); !os.IsNotExist(err) {
		t.Fatalf("a file was left for a plot that failed: %v", err)
	}
}

// TestLabelsInGoFont: Label draws anti-aliased Go Regular whose line fits FontHeight; a grid's captions are in the
// same font, and grow with the cells.
func TestLabelsInGoFont(t *testing.T) {
	if got := LineHeight(FontSize); got != FontHeight {
		t.Fatalf("a line of %g-pixel text is %d pixels tall, FontHeight says %d", FontSize, got, FontHeight)
	}
	img := image.NewRGBA(image.Rect(0, 0, 120, 20))
	Fill(img, img.Bounds(), White)
	Label(img, 2, 2, "Ankle boot 9", Black)
	if g := greyLevels(img, img.Bounds()); g < 20 {
		t.Fatalf("a label has %d grey levels, want anti-aliased text (>= 20)", g)
	}
	if dark(img, image.Rect(0, 2+FontHeight, 120, 20)) > 0 || dark(img, img.Bounds()) < 20 {
		t.Fatal("a label is drawn outside its line, or not at all")
	}
	if w := TextWidth("iiii"); w >= TextWidth("MMMM") {
		t.Fatalf("TextWidth of iiii %d >= of MMMM: not a proportional font", w)
	}
	tile := image.NewRGBA(image.Rect(0, 0, 28, 28))
	Fill(tile, tile.Bounds(), Grey)
	small := Grid([]image.Image{tile}, []string{"Sandal"}, 1, 1)
	large := Grid([]image.Image{tile}, []string{"Sandal"}, 1, 8)
	caption := func(g *image.RGBA, cellH int) image.Rectangle {
		return image.Rect(0, gridMargin+cellH, g.Bounds().Dx(), g.Bounds().Dy())
	}
	if g := greyLevels(small, caption(small, 28)); g < 10 {
		t.Fatalf("a grid's caption has %d grey levels, want anti-aliased text", g)
	}
	if hs, hl := small.Bounds().Dy()-28, large.Bounds().Dy()-8*28; hl <= hs || dark(large, caption(large, 8*28)) <= dark(small, caption(small, 28)) {
		t.Fatalf("caption rows %d (28 px cells) and %d (224 px cells): want larger text under larger pictures", hs, hl)
	}
}

// TestPlotDotsInsideFrame: a dot at the first or last x lies inside the data area, not cut in half by the frame
// (the x range is padded when a series draws dots); a line alone keeps the tight range.
func TestPlotDotsInsideFrame(t *testing.T) {
	for _, logX := range []bool{false, true} {
		p := Plot{Series: []Series{{X: []float64{1, 10, 100}, Y: []float64{1, 2, 3}, Markers: true}}, LogX: logX,
			Width: 300, Height: 200}
		l, err := p.arrange(plotCanvas(p))
		if err != nil {
			t.Fatal(err)
		}
		data := l.plot.DataCanvas(l.plotArea)
		tx, _ := l.plot.Transforms(&data)
		if first, last := tx(1)-data.Min.X, data.Max.X-tx(100); first < vg.Points(3) || last < vg.Points(3) {
			t.Errorf("log x %v: the first dot is %v from the left edge of the data area, the last %v from the right: want at least 3 points (a dot's radius)", logX, first, last)
		}
		x, _, err := Plot{Series: []Series{{X: []float64{1, 10, 100}, Y: []float64{1, 2, 3}}}, LogX: logX}.ranges()
		if err != nil || x.from(x.min) != 1 || math.Abs(x.from(x.max)-100) > 1e-9 {
			t.Errorf("log x %v: a line's x range is %v to %v, want 1 to 100 (%v)", logX, x.from(x.min), x.from(x.max), err)
		}
	}
}
