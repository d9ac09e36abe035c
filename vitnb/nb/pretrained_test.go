package nb

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/vitnb/vitnb/vitnb/explain"
)

// hfFixture is a small random ViT in Hugging Face's format (safetensors and config.json, as
// google/vit-base-patch16-224): the notebooks' pretrained sections run on it in tests.
var hfFixture = filepath.Join("..", "weights", "testdata", "hf", "model.safetensors")

// TestPretrainedSection runs what the notebooks' sections on public weights run, on the small checkpoint:
// classify the photos with the checkpoint's own preprocessing, then explain and measure attention distance.
func TestPretrainedSection(t *testing.T) {
	t.Setenv(PretrainedEnv, hfFixture)
	b := Backend()
	c, err := Pretrained(b)
	if err != nil || c == nil {
		t.Fatalf("Pretrained: %v, %v", c, err)
	}
	photos, err := Photos(filepath.Join("..", "..", "notebooks", "images"))
	if err != nil || len(photos) < 2 {
		t.Fatalf("Photos: %v, %v", photos, err)
	}
	top, err := c.PredictFiles(photos, 5)
	if err != nil || len(top) != len(photos) || len(top[0].Top) != 5 {
		t.Fatalf("PredictFiles: %v, %v", top, err)
	}
	ShowPredictions(photos, top)
	pix, seen, err := ModelInput(c, photos)
	cfg := c.Config
	if err != nil || len(seen) != len(photos) || len(pix) != len(photos)*cfg.ImageSize*cfg.ImageSize*cfg.Channels {
		t.Fatalf("ModelInput: %d values, %d pictures, %v", len(pix), len(seen), err)
	}
	if seen[0].Bounds().Dx() != cfg.ImageSize {
		t.Fatalf("picture %v, want %d wide", seen[0].Bounds(), cfg.ImageSize)
	}
	e, err := explain.New(c.Backend, c.Store, cfg)
	if err != nil {
		t.Fatal(err)
	}
	ex, err := e.Explain(pix, len(photos), nil)
	if err != nil || len(ex.Maps[explain.MethodRelevance]) != len(photos) {
		t.Fatalf("Explain: %v", err)
	}
	if _, err := explain.MeanDistances(ex.Attention, 1, cfg.GridSize(), cfg.PatchSize); err != nil {
		t.Fatal(err)
	}
}

// TestPretrainedMissing: with nothing at hand the section is skipped, not failed; a bad name is an error naming it.
func TestPretrainedMissing(t *testing.T) {
	t.Setenv(PretrainedEnv, "")
	t.Setenv("HF_HUB_CACHE", t.TempDir())
	t.Setenv("HF_HUB_OFFLINE", "1")
	if c, err := Pretrained(Backend()); c != nil || err != nil {
		t.Fatalf("Pretrained without a checkpoint: %v, %v; want nil, nil", c, err)
	}
	t.Setenv(PretrainedEnv, filepath.Join(t.TempDir(), "missing.safetensors"))
	if _, err := Pretrained(Backend()); err == nil || !strings.Contains(err.Error(), "missing.safetensors") {
		t.Fatalf("a missing file: err = %v", err)
	}
}
