package viz

import (
	"image"
	"image/color"
	"strings"
	"testing"
)

// TestConfusionMatrix draws a 2-class matrix and reads the colours of its cells: the diagonal cell of a class
// that is always right is the darkest blue, an empty cell stays white, and shares in between are in between.
func TestConfusionMatrix(t *testing.T) {
	counts := [][]int{{30, 10}, {0, 40}} // cat: 75% right; dog: 100%
	img, err := ConfusionMatrix(counts, []string{"cat", "dog"}, "test")
	if err != nil {
		t.Fatal(err)
	}
	// Find each cell by its colour (the first pixel of it in reading order) and check where they lie.
	cellAt := func(want color.RGBA) image.Point {
		b := img.Bounds()
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				if img.RGBAAt(x, y) == want {
					return image.Pt(x, y)
				}
			}
		}
		t.Fatalf("no pixel of colour %v", want)
		return image.Point{}
	}
	catCat := cellAt(Blues(0.75))
	catDog := cellAt(Blues(0.25))
	dogDog := cellAt(Blues(1))
	if !(catDog.X > catCat.X && catDog.Y == catCat.Y) {
		t.Fatalf("cat->dog cell at %v is not right of cat->cat at %v", catDog, catCat)
	}
	if !(dogDog.Y > catCat.Y && dogDog.X == catDog.X) {
		t.Fatalf("dog->dog cell at %v is not below cat->dog at %v", dogDog, catDog)
	}
	if Blues(1) != (color.RGBA{8, 48, 107, 255}) || Blues(0) != (color.RGBA{247, 251, 255, 255}) {
		t.Fatalf("Blues ends %v %v", Blues(0), Blues(1))
	}

	// Column names are written upwards: the picture is taller than the cells and names alone.
	long := strings.Repeat("x", 20)
	tall, err := ConfusionMatrix(counts, []string{long, "dog"}, "")
	if err != nil {
		t.Fatal(err)
	}
	if tall.Bounds().Dy() < 2*34+TextWidth(long) || tall.Bounds().Dx() < 2*34+TextWidth(long) {
		t.Fatalf("a %d-pixel class name in a %v picture", TextWidth(long), tall.Bounds())
	}

	for _, bad := range [][][]int{nil, {{1, 2}}, {{1}, {2}}, {{1, -1}, {0, 1}}} {
		if _, err := ConfusionMatrix(bad, nil, ""); err == nil {
			t.Errorf("no error for %v", bad)
		}
	}
	if _, err := ConfusionMatrix(counts, []string{"a", "b", "c"}, ""); err == nil {
		t.Error("no error for 3 names of 2 classes")
	}

	// 300 classes would be a picture of 10,000 x 10,000 pixels (400 MB): refused before drawing, in one line.
	large := make([][]int, 300)
	for i := range large {
		large[i] = make([]int, 300)
	}
	if _, err := ConfusionMatrix(large, nil, ""); err == nil || !strings.Contains(err.Error(), "300 classes") || strings.Contains(err.Error(), "\n") {
		t.Errorf("a 300-class matrix: %v, want one line refusing it", err)
	}
}

func TestRotateCCW(t *testing.T) {
	src := image.NewRGBA(image.Rect(0, 0, 3, 2))
	src.SetRGBA(2, 0, Red) // top-right goes to top-left
	src.SetRGBA(0, 1, Black)
	r := rotateCCW(src)
	if r.Bounds().Dx() != 2 || r.Bounds().Dy() != 3 {
		t.Fatalf("rotated bounds %v", r.Bounds())
	}
	if r.RGBAAt(0, 0) != Red || r.RGBAAt(1, 2) != Black {
		t.Fatalf("rotated pixels %v %v", r.RGBAAt(0, 0), r.RGBAAt(1, 2))
	}
}

func TestProgressHTML(t *testing.T) {
	h := ProgressHTML(15, 60, "loss <1>")
	if !strings.Contains(h, " 25% 15/60 loss &lt;1&gt;") || strings.Count(h, "█") != 8 || strings.Count(h, "░") != 22 {
		t.Fatalf("progress: %s", h)
	}
	if h := ProgressHTML(70, 60, ""); strings.Count(h, "█") != 30 || !strings.Contains(h, "100%") {
		t.Fatalf("over the total: %s", h)
	}
}
