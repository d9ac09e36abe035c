package classifier

import (
	"fmt"
	"image"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/ml/model"

	"github.com/vitnb/vitnb/datasets"
	"github.com/vitnb/vitnb/datasets/datasetstest"
	"github.com/vitnb/vitnb/vitnb"
	"github.com/vitnb/vitnb/vitnb/training"
	"github.com/vitnb/vitnb/vitnb/weights"
)

// TestBadInputsAreErrors: the library returns an error that says what is wrong, and never panics, for what a
// program may hand it: nil, unbounded or huge images (refused from their bounds, without allocating their pixels),
// few-shot settings out of range, a zero Classifier, nil data sets, backends, stores and writers, a negative zoom,
// and NaN in the input (blamed on the input, not the weights).
func TestBadInputsAreErrors(t *testing.T) {
	b := newBackend(t)
	cfg := vitnb.Config{Name: "tiny", ImageSize: 8, Channels: 3, PatchSize: 4, Width: 16, Depth: 1, Heads: 2, MLPDim: 32, NumClasses: 2}
	c, err := Random(b, cfg, 1)
	if err != nil {
		t.Fatal(err)
	}
	data := datasetstest.WriteFolder(t, 4, true)
	ds, err := datasets.Load("folder:"+data, datasets.Options{Holdout: -1})
	if err != nil {
		t.Fatal(err)
	}
	zero := &Classifier{}
	runDir := filepath.Join(t.TempDir(), "run")
	nanInput := make([]float32, 8*8*3)
	nanInput[5] = float32(math.NaN())
	var nilRGBA *image.RGBA
	var nilPipeline *datasets.Pipeline
	small := image.NewRGBA(image.Rect(0, 0, 4, 4))
	predict := func(img image.Image) func() error {
		return func() error { _, err := c.PredictImages([]image.Image{img}, 1); return err }
	}
	cases := []struct {
		name string
		call func() error
		want string
	}{
		{"PredictImages(nil image)", predict(nil), "image 0: no image (nil)"},
		{"PredictImages(nil *image.RGBA)", predict(nilRGBA), "cannot tell its bounds"},
		{"PredictImages(image.Uniform)", predict(image.NewUniform(color.White)), "above the limit"},
		{"PredictImages(200000x100000 RGBA)", predict(&image.RGBA{Rect: image.Rect(0, 0, 200000, 100000)}), "200000x100000"},
		{"PredictImages(RGBA shorter than its bounds)", predict(&image.RGBA{Rect: image.Rect(0, 0, 30, 30), Stride: 120}), "reading the pixels"},
		{"PredictImages(empty image)", predict(image.NewRGBA(image.Rectangle{})), "0x0 pixels"},
		{"PredictImages(no images)", func() error { _, err := c.PredictImages(nil, 1); return err }, "no images"},
		{"PredictImages(top-0)", func() error { _, err := c.PredictImages([]image.Image{small}, 0); return err }, "top-k"},
		{"FewShot(shots 0, -1)", func() error { _, err := c.FewShot(ds, "test", 0, []int{0, -1}, 1, 1); return err }, "0 shots"},
		{"FewShot(l2 NaN)", func() error { _, err := c.FewShot(ds, "test", 0, []int{1}, math.NaN(), 1); return err }, "l2"},
		{"FewShot(0 draws)", func() error { _, err := c.FewShot(ds, "test", 0, []int{1}, 1, 0); return err }, "draw"},
		{"zero Classifier Predict", func() error { _, err := zero.Predict(nanInput, 1, 1); return err }, "no backend"},
		{"zero Classifier PredictImages", func() error { _, err := zero.PredictImages([]image.Image{small}, 1); return err }, "no backend"},
		{"zero Classifier PredictFiles", func() error { _, err := zero.PredictFiles([]string{"x.png"}, 1); return err }, "no backend"},
		{"zero Classifier Evaluate", func() error { _, err := zero.Evaluate(nilPipeline); return err }, "no backend"},
		{"zero Classifier AttentionPicture", func() error { _, _, _, err := zero.AttentionPicture(ds, "test", 1, 1); return err }, "no backend"},
		{"zero Classifier ExportTimm", func() error { return zero.ExportTimm(filepath.Join(t.TempDir(), "m.safetensors"), "") }, "no backend"},
		{"zero Classifier Inspect", func() error { _, _, err := zero.Inspect(nanInput, 1); return err }, "no backend"},
		{"zero Classifier WritePredictions", func() error { return zero.WritePredictions(os.Stdout, nil, "", false) }, "no backend"},
		{"nil *Classifier Predict", func() error { _, err := (*Classifier)(nil).Predict(nanInput, 1, 1); return err }, "nil classifier"},
		{"Classifier without store", func() error {
			_, err := (&Classifier{Config: c.Config, Backend: b}).Predict(make([]float32, 8*8*3), 1, 1)
			return err
		}, "nil Store"},
		{"Evaluate(nil)", func() error { _, err := c.Evaluate(nil); return err }, "no data set"},
		{"Evaluate(nil *Pipeline)", func() error { _, err := c.Evaluate(nilPipeline); return err }, "no data set"},
		{"Representations(nil)", func() error { _, err := c.Representations(nil); return err }, "no data set"},
		{"Features(nil)", func() error { _, err := c.Features(nil, "test", 0, 0); return err }, "no data set"},
		{"FewShot(nil data set)", func() error { _, err := c.FewShot(nil, "test", 0, []int{1}, 1, 1); return err }, "no data set"},
		{"Probe(nil data set)", func() error { _, err := c.Probe(nil, "test", 0, training.ProbeConfig{}); return err }, "no data set"},
		{"AttentionPicture(nil data set)", func() error { _, _, _, err := c.AttentionPicture(nil, "test", 1, 1); return err }, "no data set"},
		{"EvaluateSplit(nil data set)", func() error { _, err := c.EvaluateSplit(nil, "test", ""); return err }, "no data set"},
		{"Split(negative n)", func() error { _, err := c.Split(ds, "test", -1, 0, 0); return err }, "negative"},
		{"WritePredictions(nil writer)", func() error { return c.WritePredictions(nil, []Prediction{{}}, "go", false) }, "no writer"},
		{"FewShotResult.WriteText(nil)", func() error { return (&FewShotResult{}).WriteText(nil) }, "no writer"},
		{"ProbeResult.WriteText(nil)", func() error { return (&ProbeResult{}).WriteText(nil) }, "no writer"},
		{"Metrics.WriteTable(nil)", func() error { return (&training.Metrics{}).WriteTable(nil, "x", nil) }, "no writer"},
		{"Open(nil backend)", func() error { _, err := Open(nil, runDir); return err }, "no backend"},
		{"Random(nil backend)", func() error { _, err := Random(nil, cfg, 1); return err }, "no backend"},
		{"Load(nil backend)", func() error { _, err := Load(nil, "missing.safetensors", weights.Options{}); return err }, "no backend"},
		{"Train(nil backend)", func() error {
			_, err := Train(nil, tinyJob(data, runDir, 10), TrainOptions{Output: &strings.Builder{}})
			if _, serr := os.Stat(runDir); serr == nil {
				return fmt.Errorf("Train created %s before refusing: %v", runDir, err)
			}
			return err
		}, "no backend"},
		{"New(nil store)", func() error { _, err := New(b, cfg, nil); return err }, "no store"},
		{"New(nil backend)", func() error { _, err := New(nil, cfg, model.NewStore()); return err }, "no backend"},
		{"AttentionPicture(scale -3)", func() error { _, _, _, err := c.AttentionPicture(ds, "test", 1, -3); return err }, "scale"},
		{"Predict(NaN input)", func() error { _, err := c.Predict(nanInput, 1, 1); return err }, "input of image 0 holds NaN"},
	}
	for _, tc := range cases {
		var err error
		var panicked any
		allocated := datasetstest.Allocated(func() {
			defer func() { panicked = recover() }()
			err = tc.call()
		})
		switch {
		case panicked != nil:
			t.Errorf("%s panicked: %v", tc.name, panicked)
		case err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n"):
			t.Errorf("%s: got %v, want one line containing %q", tc.name, err, tc.want)
		case strings.Contains(err.Error(), "weights"):
			t.Errorf("%s blames the weights: %v", tc.name, err)
		}
		if allocated > 64<<20 {
			t.Errorf("%s allocated %d MB", tc.name, allocated>>20)
		}
	}
}
