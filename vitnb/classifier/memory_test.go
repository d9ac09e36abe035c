package classifier

import (
	"fmt"
	"image"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vitnb/vitnb/datasets"
	"github.com/vitnb/vitnb/datasets/datasetstest"
	"github.com/vitnb/vitnb/vitnb"
	"github.com/vitnb/vitnb/vitnb/weights"
)

// TestMemoryCheckedBeforeAllocating: a model too large for the machine is refused by Random (B/16 at 30000
// pixels: `vit predict` used to reach 21 GB before its check) and a batch too large by PredictFiles and
// PredictImages, before any image is preprocessed (micro32 at 8192 pixels: 1.6 GB before the check), each with
// one line and less than 100 MB allocated.
func TestMemoryCheckedBeforeAllocating(t *testing.T) {
	const limit = 100 << 20
	b := newBackend(t)
	big, err := vitnb.Preset("B/16")
	if err != nil {
		t.Fatal(err)
	}
	big.ImageSize = 30000 - 30000%16
	var c *Classifier
	if n := datasetstest.Allocated(func() { c, err = Random(b, big, 1) }); err == nil || n > limit {
		t.Errorf("Random(B/16 at %d pixels): %v, %d bytes allocated", big.ImageSize, err, n)
	} else if !strings.Contains(err.Error(), "needs about") || strings.Contains(err.Error(), "\n") {
		t.Errorf("Random(B/16 at %d pixels): %q, want one line with the estimate", big.ImageSize, err)
	}
	if c != nil {
		t.Error("Random returned a classifier with its error")
	}

	small, err := vitnb.Preset("micro32")
	if err != nil {
		t.Fatal(err)
	}
	small.ImageSize = 8192
	t.Setenv(vitnb.MemoryCheckEnv, "1") // build it: the checks of PredictFiles and PredictImages are under test
	if c, err = Random(b, small, 1); err != nil {
		t.Fatal(err)
	}
	t.Setenv(vitnb.MemoryCheckEnv, "")
	img := image.NewRGBA(image.Rect(0, 0, 4, 4))
	path := filepath.Join(t.TempDir(), "x.png")
	datasetstest.WritePNG(t, path, img)
	for name, predict := range map[string]func() error{
		"PredictFiles":  func() error { _, err := c.PredictFiles([]string{path}, 1); return err },
		"PredictImages": func() error { _, err := c.PredictImages([]image.Image{img}, 1); return err },
	} {
		var err error
		if n := datasetstest.Allocated(func() { err = predict() }); err == nil || n > limit {
			t.Errorf("%s with micro32 at 8192 pixels: %v, %d bytes allocated", name, err, n)
		} else if !strings.Contains(err.Error(), "needs about") {
			t.Errorf("%s with micro32 at 8192 pixels: %q", name, err)
		}
	}
}

// TestLoadChecksMemory: pretrained weights resampled to an image size whose model cannot run on the machine
// (the test checkpoint at 30000 pixels: 5.4 GB of position embeddings, petabytes of attention) are refused
// before any tensor is read or resampled (before: the resampling allocated 5.4 GB, then New's check refused).
func TestLoadChecksMemory(t *testing.T) {
	b := newBackend(t)
	npz := filepath.Join("..", "weights", "testdata", "google.npz")
	var err error
	opts := weights.Options{Heads: 3, ImageSize: 30000}
	if n := datasetstest.Allocated(func() { _, err = Load(b, npz, opts) }); err == nil || n > 100<<20 {
		t.Errorf("Load at 30000 pixels: %v, %d bytes allocated", err, n)
	} else if !strings.Contains(err.Error(), "needs about") || !strings.Contains(err.Error(), npz) {
		t.Errorf("Load at 30000 pixels: %q, want the estimate and the file", err)
	}
	// A caller's own check runs too.
	opts = weights.Options{CheckConfig: func(cfg vitnb.Config) error { return fmt.Errorf("refused %d", cfg.Width) }}
	if _, err := Load(b, npz, opts); err == nil || !strings.Contains(err.Error(), "refused 24") {
		t.Errorf("Load with CheckConfig: %v", err)
	}
}

// TestPicturesSizedFirst: a sample or an attention picture larger than files.MaxPicturePixels is refused in one
// line naming the numbers that make it, before any image is read or the model runs (before: `vit data sample -n
// 1024 -size 1024` allocated a 12.9 GB batch, `vit attention -n 250 -scale 64` a 6.7 GB picture, past 7.5 GB).
func TestPicturesSizedFirst(t *testing.T) {
	ds, err := datasets.Load("folder:"+datasetstest.WriteFolder(t, 2, true), datasets.Options{Holdout: -1})
	if err != nil {
		t.Fatal(err)
	}
	if n := datasetstest.Allocated(func() { _, _, err = ds.Sample(datasets.SplitTrain, 1024, 1024, false, 1, nil) }); err == nil ||
		n > 10<<20 || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), "1024 pictures of 1024x1024 pixels") {
		t.Errorf("Sample(1024 of 1024 px): %v, %d bytes allocated", err, n)
	}
	if _, _, err := ds.Sample(datasets.SplitTrain, 4, 32, false, 1, nil); err != nil {
		t.Errorf("Sample(4 of 32 px): %v", err)
	}
	cfg := vitnb.Config{Name: "tiny", ImageSize: 16, PatchSize: 4, Width: 16, Depth: 1, Heads: 2, MLPDim: 32, NumClasses: 2}
	c, err := Random(newBackend(t), cfg, 1)
	if err != nil {
		t.Fatal(err)
	}
	if n := datasetstest.Allocated(func() { _, _, _, err = c.AttentionPicture(ds, datasets.SplitTest, 250, 400) }); err == nil ||
		n > 10<<20 || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), "250 images of 16x16 pixels at scale 400") {
		t.Errorf("AttentionPicture(250 images at scale 400): %v, %d bytes allocated", err, n)
	}
	if _, shown, _, err := c.AttentionPicture(ds, datasets.SplitTest, 2, 2); err != nil || shown != 2 {
		t.Errorf("AttentionPicture(2 images at scale 2): %d shown, %v", shown, err)
	}
}

// TestPredictStreams: predicting more images than a batch holds gives the same answers as one at a time, in
// batches of Batch (the last one padded), and Batch keeps the estimate of a batch within BatchBudget.
func TestPredictStreams(t *testing.T) {
	cfg := vitnb.Config{Name: "tiny", ImageSize: 8, PatchSize: 4, Width: 16, Depth: 1, Heads: 2, MLPDim: 32, NumClasses: 3}
	c, err := Random(newBackend(t), cfg, 1)
	if err != nil {
		t.Fatal(err)
	}
	const n = 7
	input := make([]float32, n*8*8*3)
	for i := range input {
		input[i] = float32(i%13)/6 - 1
	}
	c.BatchSize = 3
	if got := c.Batch(n, 0); got != 3 {
		t.Errorf("Batch(%d) with BatchSize 3 = %d", n, got)
	}
	all, err := c.Predict(input, n, 2)
	if err != nil || len(all) != n {
		t.Fatalf("Predict: %d predictions, %v", len(all), err)
	}
	c.BatchSize = 1
	for i := range n {
		one, err := c.Predict(input[i*8*8*3:(i+1)*8*8*3], 1, 2)
		if err != nil {
			t.Fatal(err)
		}
		for j, l := range one[0].Logits {
			if d := l - all[i].Logits[j]; d > 1e-4 || d < -1e-4 {
				t.Errorf("image %d class %d: logit %g alone, %g in batches of 3", i, j, l, all[i].Logits[j])
			}
		}
		if all[i].Image != fmt.Sprintf("image %d", i) {
			t.Errorf("prediction %d names %q", i, all[i].Image)
		}
	}
	ti, err := vitnb.Preset("Ti/16")
	if err != nil {
		t.Fatal(err)
	}
	b := ti.Batch(nil, 1000, false, 0)
	if b < 8 || b > vitnb.MaxBatch || ti.EstimateMemoryOn(nil, b, false).Activations > vitnb.BatchBudget {
		t.Errorf("Ti/16, 1000 images: batch %d, estimate %v", b, ti.EstimateMemoryOn(nil, b, false))
	}
	// The smallest batch size that needs as many batches: the padding of the last batch is less than one image per
	// batch (1000 images in batches of 40 would pad 40 * 25 - 1000 = 0, in batches of 41 pad 25 for the same 25).
	if batches := (1000 + b - 1) / b; batches*b-1000 >= batches {
		t.Errorf("Ti/16, 1000 images in %d batches of %d: %d images of padding", batches, b, batches*b-1000)
	}
}
