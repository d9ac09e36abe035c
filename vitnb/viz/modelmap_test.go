package viz

import (
	"image/color"
	"strings"
	"testing"

	"github.com/vitnb/vitnb/vitnb"
)

// TestModelShapes: the shapes written on Fig. 1 for B/16 (224x224x3, 196 patches of 768 values, 197 tokens of
// width 768, 12 heads of 64, MLP 3072, 1000 classes) and micro28 (7x7 patches of 4x4x1, 50 tokens of 64).
func TestModelShapes(t *testing.T) {
	b16, err := vitnb.Preset("B/16")
	if err != nil {
		t.Fatal(err)
	}
	got, err := ModelShapes(b16)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"224x224x3", "[196, 768] (768 = 16x16x3)", "[196, 768]", "[197, 768]", "[197, 768]",
		"[197, 768]", "12 heads of 64: maps [197, 197]", "[197, 768]", "[197, 768]", "[197, 3072] -> [197, 768]",
		"[197, 768]", "[768]", "[1000]"}
	if len(got) != len(modelStages) || strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("B/16 shapes:\n%q\nwant\n%q", got, want)
	}
	micro, err := vitnb.Preset("micro28")
	if err != nil {
		t.Fatal(err)
	}
	got, err = ModelShapes(micro)
	if err != nil {
		t.Fatal(err)
	}
	if got[1] != "[49, 16] (16 = 4x4x1)" || got[3] != "[50, 64]" || got[6] != "4 heads of 16: maps [50, 50]" || got[12] != "[10]" {
		t.Fatalf("micro28 shapes: %q", got)
	}
	gap := micro
	gap.Pooling = vitnb.PoolMean
	if got, err = ModelShapes(gap); err != nil || got[3] != "no class token: [49, 64]" || got[11] != "mean of the tokens [64]" {
		t.Fatalf("gap pooling: %q, %v", got, err)
	}
	bad := micro
	bad.PatchSize = 5 // 28 is not a multiple of 5
	if _, err := ModelMap(micro, bad); err == nil || !strings.Contains(err.Error(), "micro28") {
		t.Fatalf("ModelMap of an invalid configuration: %v, want an error naming it", err)
	}
	if _, err := ModelMap(); err == nil {
		t.Fatal("ModelMap of nothing: no error")
	}
}

// TestModelMap: the picture grows by a column per model, and holds the boxes' colours and the residual paths.
func TestModelMap(t *testing.T) {
	micro, _ := vitnb.Preset("micro28")
	b16, _ := vitnb.Preset("B/16")
	one, err := ModelMap(micro)
	if err != nil {
		t.Fatal(err)
	}
	two, err := ModelMap(micro, b16)
	if err != nil {
		t.Fatal(err)
	}
	if two.Bounds().Dy() != one.Bounds().Dy() || two.Bounds().Dx() <= one.Bounds().Dx()+TextWidth("[197, 3072] -> [197, 768]") {
		t.Fatalf("sizes %v (one model) and %v (two): want the second wider by B/16's column", one.Bounds(), two.Bounds())
	}
	count := map[color.RGBA]int{}
	for y := two.Bounds().Min.Y; y < two.Bounds().Max.Y; y++ {
		for x := two.Bounds().Min.X; x < two.Bounds().Max.X; x++ {
			count[two.RGBAAt(x, y)]++
		}
	}
	for _, c := range []color.RGBA{stageColours["attention"], stageColours["mlp"], stageColours["norm"], Red} {
		if count[c] < 100 {
			t.Errorf("colour %v: %d pixels, want a box or path of it", c, count[c])
		}
	}
}
