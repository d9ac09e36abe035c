package datasets

import (
	"image"
	"image/color"
	"math"
	"testing"
)

// firstBatch runs an evaluation pipeline over src with cfg and returns its first batch.
func firstBatch(t *testing.T, src Source, cfg Config) *Batch {
	t.Helper()
	p, err := NewPipeline(src, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for b, err := range p.Batches() {
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	t.Fatal("no batch")
	return nil
}

func rampSource(h, w int) *ArraySource {
	a := &ArraySource{Height: h, Width: w, Channels: 3, Pix: make([]uint8, h*w*3), Labels: []int32{0}, Origin: "ramp"}
	for y := range h {
		for x := range w {
			for c := range 3 {
				a.Pix[(y*w+x)*3+c] = uint8((x*40 + y*7 + c*50) % 256)
			}
		}
	}
	return a
}

// The reference normalisation is the same, bit for bit, whether it is left implicit or spelled out as a
// Preprocessing of mean = std = 0.5; another mean and std (ImageNet's, as DeiT) give (x/255 - mean) / std.
func TestPreprocessingMeanStd(t *testing.T) {
	src := rampSource(4, 5)
	plain := firstBatch(t, src, EvalConfig(1, 0))
	ref := firstBatch(t, src, ReferencePreprocessing(0, 3).Eval(1))
	for i := range plain.Images {
		if plain.Images[i] != ref.Images[i] {
			t.Fatalf("value %d: implicit %v, ReferencePreprocessing %v", i, plain.Images[i], ref.Images[i])
		}
	}
	imagenet := Preprocessing{ImageSize: 0, Mean: []float32{0.485, 0.456, 0.406}, Std: []float32{0.229, 0.224, 0.225},
		Resize: ResizeBilinear}
	cfg := imagenet.Eval(1)
	got := firstBatch(t, src, cfg)
	for i, v := range got.Images {
		c := i % 3
		want := (float64(src.Pix[i])/255 - float64(imagenet.Mean[c])) / float64(imagenet.Std[c])
		if math.Abs(float64(v)-want) > 1e-5 {
			t.Fatalf("value %d (channel %d, pixel %d): got %v, want %v", i, c, src.Pix[i], v, want)
		}
		if c == 0 && src.Pix[i] > 0 && math.Abs(float64(v)-float64(plain.Images[i])) < 1e-3 {
			t.Fatalf("value %d: ImageNet normalisation gave the reference's value %v", i, v)
		}
	}
}

// Bicubic resampling keeps a constant image constant, is close to bilinear on a smooth ramp, and
// Preprocessing.Input gives what the evaluation pipeline gives for the same image.
func TestPreprocessingBicubicAndInput(t *testing.T) {
	flat := &ArraySource{Height: 9, Width: 7, Channels: 3, Pix: make([]uint8, 9*7*3), Labels: []int32{0}, Origin: "flat"}
	for i := range flat.Pix {
		flat.Pix[i] = 200
	}
	pre := Preprocessing{ImageSize: 4, Mean: []float32{0.5, 0.5, 0.5}, Std: []float32{0.5, 0.5, 0.5}, Resize: ResizeBicubic}
	for _, v := range firstBatch(t, flat, pre.Eval(1)).Images {
		if math.Abs(float64(v)-(200-127.5)/127.5) > 1e-5 {
			t.Fatalf("bicubic of a constant image: got %v, want %v", v, (200-127.5)/127.5)
		}
	}
	src := rampSource(16, 16)
	pre.ImageSize = 8
	cubic := firstBatch(t, src, pre.Eval(1)).Images
	pre.Resize = ResizeBilinear
	linear := firstBatch(t, src, pre.Eval(1)).Images
	maxDiff := 0.0
	for i := range cubic {
		maxDiff = math.Max(maxDiff, math.Abs(float64(cubic[i]-linear[i])))
	}
	if maxDiff == 0 || maxDiff > 0.5 {
		t.Fatalf("bicubic against bilinear on a ramp: max difference %v, want small but not zero", maxDiff)
	}

	img := image.NewRGBA(image.Rect(0, 0, 16, 12))
	arr := &ArraySource{Height: 12, Width: 16, Channels: 3, Pix: make([]uint8, 12*16*3), Labels: []int32{0}, Origin: "img"}
	for y := range 12 {
		for x := range 16 {
			c := color.RGBA{uint8(x * 15), uint8(y * 20), uint8((x + y) * 9), 255}
			img.Set(x, y, c)
			copy(arr.Pix[(y*16+x)*3:], []uint8{c.R, c.G, c.B})
		}
	}
	pre = Preprocessing{ImageSize: 6, Mean: []float32{0.485, 0.456, 0.406}, Std: []float32{0.229, 0.224, 0.225},
		Resize: ResizeBicubic, CropPct: 0.875}
	in, err := pre.Input(img, 3)
	if err != nil {
		t.Fatal(err)
	}
	want := firstBatch(t, arr, pre.Eval(1)).Images
	for i := range want {
		if in[i] != want[i] {
			t.Fatalf("Input value %d: %v, the evaluation pipeline gives %v", i, in[i], want[i])
		}
	}
	if _, err := (Preprocessing{ImageSize: 6, Mean: []float32{0.5}, Std: []float32{0}, Resize: ResizeBilinear}).Input(img, 1); err == nil {
		t.Fatal("a std of 0 was accepted")
	}
}
