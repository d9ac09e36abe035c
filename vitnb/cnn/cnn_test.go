package cnn

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/train"
	"github.com/gomlx/gomlx/ml/train/loss"
	"github.com/gomlx/gomlx/ml/train/optimizer"

	"github.com/vitnb/vitnb/vitnb"
	"github.com/vitnb/vitnb/vitnb/backend"
)

func testBackend(t testing.TB) compute.Backend {
	t.Helper()
	b, _, err := backend.New()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// halves returns n 12x12 grey images, bright on the left half for class 0 and on the right for class 1, with
// noise: a data set any convolutional net separates.
func halves(rng *rand.Rand, n int) ([]float32, []int32) {
	const size = 12
	pix := make([]float32, n*size*size)
	labels := make([]int32, n)
	for b := range n {
		labels[b] = int32(rng.IntN(2))
		for y := range size {
			for x := range size {
				v := rng.Float32()*0.6 - 0.8
				if (x < size/2) == (labels[b] == 0) {
					v += 1.2
				}
				pix[(b*size+y)*size+x] = v
			}
		}
	}
	return pix, labels
}

func small() Config {
	return Config{Name: "small", ImageSize: 12, Channels: 1, Filters: []int{4, 8}, NumClasses: 2}.WithDefaults()
}

// TestLearnsHalves trains the CNN with GoMLX's trainer, as training.Run trains vitnb.Logits, and checks it
// classifies held-out images.
func TestLearnsHalves(t *testing.T) {
	cfg := small()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	b := testBackend(t)
	store := model.NewStore()
	store.SetParam(model.ParamInitialSeed, int64(1))
	trainer := train.NewTrainer(b, store, cfg.Logits, loss.SparseCategoricalCrossEntropyLogits,
		optimizer.Adam().LearningRate(3e-3).Done(), nil, nil)
	rng := rand.New(rand.NewPCG(1, 2))
	const batch, steps = 16, 60
	for range steps {
		pix, labels := halves(rng, batch)
		if _, err := trainer.TrainStep(train.Batch{
			Inputs: []*tensors.Tensor{tensors.FromFlatDataAndDimensions(pix, batch, 12, 12, 1)},
			Labels: []*tensors.Tensor{tensors.FromFlatDataAndDimensions(labels, batch, 1)},
		}); err != nil {
			t.Fatal(err)
		}
	}
	const n = 64
	pix, labels := halves(rand.New(rand.NewPCG(99, 0)), n)
	exec := model.MustNewExec(b, store, cfg.Logits)
	logits := tensors.MustCopyFlatData[float32](exec.MustCall(tensors.FromFlatDataAndDimensions(pix, n, 12, 12, 1))[0])
	correct := 0
	for i := range n {
		pred := int32(0)
		if logits[2*i+1] > logits[2*i] {
			pred = 1
		}
		if pred == labels[i] {
			correct++
		}
	}
	t.Logf("after %d steps: %d of %d held-out images right", steps, correct, n)
	if correct < n*95/100 {
		t.Errorf("after %d steps only %d of %d held-out images right, want at least 95%%", steps, correct, n)
	}
}

// TestVariablesAndCounts checks the model creates exactly VariableShapes, that NumParams counts them, and FLOPs
// against a count by hand.
func TestVariablesAndCounts(t *testing.T) {
	cfg := small()
	store := model.NewStore()
	exec := model.MustNewExec(testBackend(t), store, func(scope *model.Scope, x *graph.Node) *graph.Node {
		return Logits(scope, cfg, x)
	})
	out := exec.MustCall(tensors.FromShape(shapesMake(3, cfg)))
	if dims := out[0].Shape().Dimensions; len(dims) != 2 || dims[0] != 3 || dims[1] != 2 {
		t.Fatalf("logits shape %v, want [3 2]", dims)
	}
	want := cfg.VariableShapes()
	params := 0
	for v := range store.IterVariables() {
		if strings.HasPrefix(v.Name(), "#") {
			continue // GoMLX's own state, such as the random number generator's
		}
		name := strings.TrimPrefix(v.Path(), "/")
		dims, ok := want[name]
		if !ok || !slices.Equal(dims, v.Shape().Dimensions) {
			t.Errorf("variable %s %v not in VariableShapes (%v)", name, v.Shape().Dimensions, dims)
		}
		delete(want, name)
		params += v.Shape().Size()
	}
	if len(want) != 0 {
		t.Errorf("variables not created: %v", want)
	}
	// By hand: 3·3·1·4+4 = 40, 3·3·4·8+8 = 296, head 8·2+2 = 18.
	if cfg.NumParams() != 354 || params != 354 {
		t.Errorf("NumParams %d, created %d, want 354", cfg.NumParams(), params)
	}
	// 2·12²·9·1·4 + 2·6²·9·4·8 + 2·8·2 = 10368 + 20736 + 32.
	if f := cfg.FLOPs(); f != 31136 {
		t.Errorf("FLOPs %d, want 31136", f)
	}
	c28, err := Preset("cnn28")
	if err != nil {
		t.Fatal(err)
	}
	// cnn28 is the equal-cost partner of the notebooks' ViT, micro28: FLOPs within 20%.
	vit, _ := vitnb.Preset("micro28")
	t.Logf("%s; %.1f MFLOPs; ViT %s: %d parameters, %.1f MFLOPs", c28, float64(c28.FLOPs())/1e6, vit.Name, vit.NumParams(), float64(vit.FLOPs())/1e6)
	if r := float64(c28.FLOPs()) / float64(vit.FLOPs()); r < 0.8 || r > 1.2 {
		t.Errorf("cnn28 costs %.2f times micro28's FLOPs, want 0.8-1.2", r)
	}
	if c28.NumParams() != 93962 {
		t.Errorf("cnn28 has %d parameters, want 93962", c28.NumParams())
	}
}

// shapesMake is the float32 shape of n images of cfg.
func shapesMake(n int, cfg Config) shapes.Shape {
	return shapes.Make(dtypes.Float32, n, cfg.ImageSize, cfg.ImageSize, cfg.Channels)
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		change func(*Config)
		want   string
	}{
		{func(c *Config) { c.ImageSize = 0 }, "image size"},
		{func(c *Config) { c.Filters = nil }, "at least one block"},
		{func(c *Config) { c.Filters = []int{4, -1} }, "block 1"},
		{func(c *Config) { c.Filters = []int{1, 1, 1, 1} }, "below one pixel"},
		{func(c *Config) { c.NumClasses = 0 }, "classes"},
	} {
		c := small()
		tc.change(&c)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Validate() = %v, want an error containing %q", err, tc.want)
		}
	}
	if _, err := Preset("resnet"); err == nil {
		t.Error("no error for an unknown preset")
	}
	exec := model.MustNewExec(testBackend(t), model.NewStore(), small().Logits)
	if _, err := exec.Call(tensors.FromShape(shapesMake(1, Config{ImageSize: 10, Channels: 1}))); err == nil ||
		!strings.Contains(err.Error(), "images must be [batch, 12, 12, 1]") {
		t.Errorf("wrong image size: %v", err)
	}
}
