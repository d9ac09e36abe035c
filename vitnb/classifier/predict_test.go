package classifier

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gomlx/compute"

	"github.com/vitnb/vitnb/datasets/datasetstest"
	"github.com/vitnb/vitnb/vitnb"
	"github.com/vitnb/vitnb/vitnb/weights"
)

// tinyConfig is a ViT small enough to build in milliseconds.
var tinyConfig = vitnb.Config{Name: "tiny", ImageSize: 8, Channels: 3, PatchSize: 4, Width: 16, Depth: 1, Heads: 2,
	MLPDim: 32, NumClasses: 3}

// tinyRandom returns a classifier of tinyConfig with that many classes and random weights, on the test backend.
func tinyRandom(t *testing.T, classes int) (*Classifier, compute.Backend) {
	t.Helper()
	b := newBackend(t)
	cfg := tinyConfig
	cfg.NumClasses = classes
	c, err := Random(b, cfg, 1)
	if err != nil {
		t.Fatal(err)
	}
	return c, b
}

// TestFromOrigin: weights, a run folder or random weights, as the Origin says; not weights and a folder at once.
func TestFromOrigin(t *testing.T) {
	b := newBackend(t)
	if _, err := FromOrigin(b, Origin{Weights: "w.npz", Dir: "run"}); err == nil || !strings.Contains(err.Error(), "not both") {
		t.Errorf("weights and folder: %v", err)
	}
	npz := filepath.Join("..", "weights", "testdata", "google.npz")
	c, err := FromOrigin(b, Origin{Weights: npz, WeightsOptions: weights.Options{NumClasses: 7}})
	if err != nil {
		t.Fatal(err)
	}
	if c.Source != npz || c.Format != "google" || c.Config.NumClasses != 7 {
		t.Errorf("from weights: %s, format %q, %d classes", c, c.Format, c.Config.NumClasses)
	}
	if _, err := FromOrigin(b, Origin{Dir: t.TempDir()}); err == nil {
		t.Error("an empty folder opened as a run")
	}
	cfg := tinyConfig
	r1, err := FromOrigin(b, Origin{Config: cfg, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	input := make([]float32, 8*8*3)
	posEmbedding := func(c *Classifier) []float32 { // the variables exist after a first prediction
		if _, err := c.Predict(input, 1, 3); err != nil {
			t.Fatal(err)
		}
		v, err := c.Store.GetVariable("/" + vitnb.VarPosEmbedding).Value()
		if err != nil {
			t.Fatal(err)
		}
		x, _, err := tensorsFloat32(v)
		if err != nil {
			t.Fatal(err)
		}
		return x
	}
	same, _ := Random(b, cfg, 5)
	other, _ := Random(b, cfg, 6)
	x1, x2, x3 := posEmbedding(r1), posEmbedding(same), posEmbedding(other)
	if r1.Source != "" || !slices.Equal(x1, x2) || slices.Equal(x1, x3) {
		t.Errorf("random weights of seed 5: source %q, %v, same seed %v, seed 6 %v", r1.Source, x1[:2], x2[:2], x3[:2])
	}
}

// TestWritePredictions: the text form (a header per image, numbered classes) and the JSON form (one Report per
// line, with the model and backend).
func TestWritePredictions(t *testing.T) {
	b := newBackend(t)
	cfg := tinyConfig
	c, err := Random(b, cfg, 1)
	if err != nil {
		t.Fatal(err)
	}
	preds := []Prediction{
		{Image: "a.png", Logits: []float32{1, 2, 3}, Top: []ClassProb{{Class: 2, Label: "cat", Logit: 3, Probability: 0.665}, {Class: 1, Logit: 2, Probability: 0.245}}},
		{Image: "b.png", Logits: []float32{0, 0, 0}, Top: []ClassProb{{Class: 0, Probability: 1. / 3}}},
	}
	var w strings.Builder
	if err := c.WritePredictions(&w, preds, "go:test", false); err != nil {
		t.Fatal(err)
	}
	want := c.String() + " on a.png (go:test)\n1. class 2 cat  p=0.6650  logit=3.0000\n2. class 1   p=0.2450  logit=2.0000\n" +
		c.String() + " on b.png (go:test)\n1. class 0   p=0.3333  logit=0.0000\n"
	if w.String() != want {
		t.Errorf("text:\n%s\nwant:\n%s", w.String(), want)
	}
	w.Reset()
	if err := c.WritePredictions(&w, preds, "", true); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(w.String()), "\n")
	var r Report
	if len(lines) != 2 || json.Unmarshal([]byte(lines[1]), &r) != nil || r.Preset != "tiny" || r.Backend != b.Name() ||
		r.Image != "b.png" || len(r.Logits) != 3 || r.Top[0].Class != 0 {
		t.Errorf("JSON: %+v from\n%s", r, w.String())
	}
}

// TestPredictFolder: a folder of photos (or images:FOLDER) is predicted image by image, as the hint of a folder given
// as an image says ("images:DIR reads every image in it"): it failed with "open images:DIR: no such file or
// directory", and a plain folder with "is a folder, not an image". Files left out are said in Notes, once.
func TestPredictFolder(t *testing.T) {
	c, _ := tinyRandom(t, 3)
	data := datasetstest.WriteFolder(t, 2, true)
	dir := filepath.Join(data, "test")
	if err := os.WriteFile(filepath.Join(dir, "left", "notes.txt"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	want := []string{filepath.Join(dir, "left", "000.png"), filepath.Join(dir, "left", "001.png"),
		filepath.Join(dir, "right", "000.png"), filepath.Join(dir, "right", "001.png")}
	for _, arg := range []string{dir, "images:" + dir} {
		preds, err := c.PredictFiles([]string{arg}, 1)
		if err != nil {
			t.Fatalf("%s: %v", arg, err)
		}
		var got []string
		for _, p := range preds {
			got = append(got, p.Image)
		}
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("%s: predicted %q, want %q", arg, got, want)
		}
	}
	if len(c.Notes) != 1 || !strings.Contains(c.Notes[0], "files without an image extension ignored: 1") {
		t.Errorf("notes %q", c.Notes)
	}
	if _, err := c.PredictFiles([]string{"images:" + t.TempDir()}, 1); err == nil || !strings.Contains(err.Error(), "has no images") {
		t.Errorf("an empty folder: %v", err)
	}
}
