package viz

import (
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func near(t *testing.T, what string, got, want []float64, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: got %d values %v, want %d %v", what, len(got), got, len(want), want)
	}
	for i := range got {
		if math.Abs(got[i]-want[i]) > tol {
			t.Fatalf("%s: got %v, want %v", what, got, want)
		}
	}
}

func TestEigenAndPCA(t *testing.T) {
	vals, vecs, err := SymmetricEigen([]float64{2, 1, 1, 2}, 2)
	if err != nil {
		t.Fatal(err)
	}
	near(t, "eigenvalues", vals, []float64{3, 1}, 1e-12)
	s := 1 / math.Sqrt2
	if math.Abs(math.Abs(vecs[0][0])-s) > 1e-12 || math.Abs(vecs[0][0]-vecs[0][1]) > 1e-12 {
		t.Fatalf("first eigenvector %v, want ±(1,1)/√2", vecs[0])
	}

	// Points on the line t*(1, 2) around (3, 3): one component explains everything.
	var samples [][]float64
	for _, t := range []float64{-2, -1, 0, 1, 2} {
		samples = append(samples, []float64{3 + t, 3 + 2*t})
	}
	comps, explained, err := PCA(samples, 2)
	if err != nil {
		t.Fatal(err)
	}
	near(t, "component", comps[0], []float64{1 / math.Sqrt(5), 2 / math.Sqrt(5)}, 1e-9)
	near(t, "explained", explained, []float64{1, 0}, 1e-9)
}

func TestCosineAndEmbeddings(t *testing.T) {
	c := CosineSimilarity([][]float64{{1, 0}, {0, 2}, {1, 1}, {0, 0}})
	s := 1 / math.Sqrt2
	near(t, "cosine", c, []float64{
		1, 0, s, 0,
		0, 1, s, 0,
		s, s, 1, 0,
		0, 0, 0, 0}, 1e-12)

	// pos [1, 1+2*2, 3]: the class token row is dropped.
	pos := make([]float32, 5*3)
	for i := range pos {
		pos[i] = float32(i)
	}
	pe, err := PositionEmbeddings(pos, 1, 2, 3)
	if err != nil {
		t.Fatal(err)
	}
	near(t, "patch 0", pe[0], []float64{3, 4, 5}, 0)
	near(t, "patch 3", pe[3], []float64{12, 13, 14}, 0)

	// kernel [1, 1, 2, 3] (HWIO): filter o is kernel[:, o].
	k := []float32{1, 2, 3, 4, 5, 6}
	f, err := KernelFilters(k, 1, 2, 3)
	if err != nil {
		t.Fatal(err)
	}
	near(t, "filter 1", f[1], []float64{2, 5}, 0)

	img, err := FilterImage([]float64{-2, 0, 1, 2}, 2, 1)
	if err != nil {
		t.Fatal(err)
	}
	if g := img.RGBAAt(0, 0).R; g != 0 {
		t.Fatalf("most negative value drawn as %d, want 0", g)
	}
	if g := img.RGBAAt(1, 0).R; g != 128 {
		t.Fatalf("zero drawn as %d, want 128", g)
	}
	if g := img.RGBAAt(1, 1).R; g != 255 {
		t.Fatalf("largest value drawn as %d, want 255", g)
	}
	grid, err := SimilarityGrid(CosineSimilarity(pe), 2, 3, -1, 1)
	if err != nil || grid.Bounds().Dx() != 2*(6+2)+2 {
		t.Fatalf("similarity grid: %v, %v", err, grid.Bounds())
	}
}

func TestImages(t *testing.T) {
	img, err := FromFloats([]float32{-1, 0, 1, 2}, 2, 2, 1, -1, 1)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []uint8{0, 128, 255, 255} {
		if got := img.RGBAAt(i%2, i/2).G; got != want {
			t.Fatalf("pixel %d = %d, want %d", i, got, want)
		}
	}
	if _, err := FromFloats([]float32{1}, 2, 2, 1, -1, 1); err == nil {
		t.Fatal("no error for a short image")
	}

	// A 4x4 image cut into 2x2 patches: 4 patches in reading order.
	src := image.NewRGBA(image.Rect(0, 0, 4, 4))
	src.SetRGBA(2, 0, color.RGBA{9, 9, 9, 255}) // top-left pixel of patch 1
	src.SetRGBA(0, 2, color.RGBA{7, 7, 7, 255}) // top-left pixel of patch 2
	ps := Patches(src, 2)
	if len(ps) != 4 {
		t.Fatalf("%d patches, want 4", len(ps))
	}
	if r, _, _, _ := ps[1].At(0, 0).RGBA(); r>>8 != 9 {
		t.Fatalf("patch 1 starts with %d, want 9", r>>8)
	}
	if r, _, _, _ := ps[2].At(0, 0).RGBA(); r>>8 != 7 {
		t.Fatalf("patch 2 starts with %d, want 7", r>>8)
	}
	if s := Scale(src, 3); s.Bounds().Dx() != 12 {
		t.Fatalf("scaled width %d", s.Bounds().Dx())
	}
	g := Grid([]image.Image{src, src, src}, []string{"a", "b"}, 2, 2)
	if g.Bounds().Dx() != 4+2*(8+4) {
		t.Fatalf("grid width %d", g.Bounds().Dx())
	}
	if pg := PatchGrid(src, 2, 8, Red, true); pg.RGBAAt(0, 5) != Red {
		t.Fatal("patch grid has no line on the border")
	}
	if seq := TokenSequence(src, 2, 4, 5, true); seq.Bounds().Empty() {
		t.Fatal("empty token sequence")
	}
}

func TestUpsampleAndOverlay(t *testing.T) {
	up := Upsample([]float64{0, 1}, 1, 2, 1, 4)
	near(t, "upsample", up, []float64{0, 0.25, 0.75, 1}, 1e-12)
	src := image.NewRGBA(image.Rect(0, 0, 4, 4))
	ov, err := Overlay(src, []float64{0, 1, 0, 1}, 2, 2, 1)
	if err != nil {
		t.Fatal(err)
	}
	if ov.RGBAAt(0, 0) != Viridis(0) || ov.RGBAAt(3, 0) != Viridis(1) {
		t.Fatalf("overlay corners %v %v", ov.RGBAAt(0, 0), ov.RGBAAt(3, 0))
	}
	Fill(src, src.Bounds(), White)
	m, err := Mask(src, []float64{0, 2, 0, 2}, 2, 2)
	if err != nil {
		t.Fatal(err)
	}
	if m.RGBAAt(0, 0).R != 0 || m.RGBAAt(3, 3).R != 255 {
		t.Fatalf("mask corners %v %v", m.RGBAAt(0, 0), m.RGBAAt(3, 3))
	}
	if Viridis(0) != (color.RGBA{68, 1, 84, 255}) || Viridis(1) != (color.RGBA{253, 231, 37, 255}) {
		t.Fatal("viridis ends")
	}
}

func TestPlotAndHTML(t *testing.T) {
	p := Plot{Title: "t", XLabel: "x", YLabel: "y", LogY: true, Series: []Series{
		{Name: "a", X: []float64{1, 2, 3}, Y: []float64{1, 10, 100}},
		{Name: "b", X: []float64{1, 2}, Y: []float64{5, 0}, Points: true},
	}}
	img, err := p.Image()
	if err != nil || img.Bounds().Dx() != 560 {
		t.Fatalf("plot: %v", err)
	}
	if _, err := (Plot{Series: []Series{{X: []float64{1}, Y: nil}}}).Image(); err == nil {
		t.Fatal("no error for mismatched series")
	}
	h := Table([]string{"a<b"}, [][]string{{"1"}})
	if !strings.Contains(h, "a&lt;b") {
		t.Fatalf("table not escaped: %s", h)
	}
	c := ConfusionHTML([][]int{{3, 1}, {0, 4}}, []string{"cat", "dog"})
	if !strings.Contains(c, "75.0%") || !strings.Contains(c, "100.0%") {
		t.Fatalf("confusion: %s", c)
	}
}

func TestColorBarAndMarkCell(t *testing.T) {
	bar := ColorBar(0, 0.5, 100)
	if bar.Bounds().Dy() < 100 || bar.Bounds().Dx() < 20 {
		t.Fatalf("colour bar is %v", bar.Bounds())
	}
	// The top of the bar is the brightest colour, the bottom the darkest.
	top, bottom := bar.RGBAAt(2, FontHeight/2), bar.RGBAAt(2, FontHeight/2+99)
	if top != Viridis(1) || bottom != Viridis(0) {
		t.Fatalf("bar top %v bottom %v, want %v and %v", top, bottom, Viridis(1), Viridis(0))
	}
	img, err := HeatMap(make([]float64, 49), 7, 7, 8, 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	MarkCell(img, 3, 2, 7, 7, Red)
	// The frame of cell (3, 2) covers pixels 16..23 x 24..31; its centre and the other cells are untouched.
	if img.RGBAAt(16, 24) != Red || img.RGBAAt(23, 31) != Red {
		t.Fatal("frame corners not drawn")
	}
	if img.RGBAAt(20, 28) == Red || img.RGBAAt(15, 24) == Red || img.RGBAAt(24, 31) == Red {
		t.Fatal("frame drawn outside the cell's border")
	}
}

// ContactSheet cuts captions to their picture's width and picks about sqrt(n) columns; SavePNG writes a PNG that
// reads back with the same size.
func TestContactSheet(t *testing.T) {
	var pics []image.Image
	for range 5 {
		pics = append(pics, image.NewRGBA(image.Rect(0, 0, 28, 28)))
	}
	sheet := ContactSheet(pics, []string{"ankle boot and more", "bag"}, 0)
	// 3 columns (ceil(sqrt(5))) of 28-pixel cells: a caption cut to fit in 28 pixels.
	if w := sheet.Bounds().Dx(); w != 4+3*(28+4) {
		t.Errorf("sheet width %d, want 3 columns of 28 pixels", w)
	}
	path := filepath.Join(t.TempDir(), "sheet.png")
	if err := SavePNG(path, sheet); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cfg, err := png.DecodeConfig(f)
	if err != nil || cfg.Width != sheet.Bounds().Dx() || cfg.Height != sheet.Bounds().Dy() {
		t.Errorf("saved PNG: %v %+v", err, cfg)
	}
}
