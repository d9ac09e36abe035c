package classifier

import (
	"fmt"
	"image"
	"path/filepath"
	"strings"
	"testing"

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
