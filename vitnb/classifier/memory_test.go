package classifier

import (
	"image"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vitnb/vitnb/datasets/datasetstest"
	"github.com/vitnb/vitnb/vitnb"
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
