package explain

import (
	"math"
	"strings"
	"testing"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/vitnb/vitnb/vitnb"
)

// TestNilArguments: New with a nil store or backend is an error naming it (GoMLX logged a stack trace), and
// RandomMaps of negative sizes is empty instead of a panic (issue 24, item 5).
func TestNilArguments(t *testing.T) {
	cfg := vitnb.Config{ImageSize: 8, Channels: 3, PatchSize: 4, Width: 16, Depth: 1, Heads: 2, MLPDim: 32, NumClasses: 2}.WithDefaults()
	if _, err := New(testBackend(t), nil, cfg); err == nil || !strings.Contains(err.Error(), "nil *model.Store") {
		t.Errorf("New with a nil store: %v", err)
	}
	if _, err := New(nil, model.NewStore(), cfg); err == nil || !strings.Contains(err.Error(), "no backend") {
		t.Errorf("New with a nil backend: %v", err)
	}
	func() {
		defer func() {
			if r := recover(); r != nil {
				t.Errorf("RandomMaps(-1, -2) panicked: %v", r)
			}
		}()
		if maps, err := RandomMaps(-1, -2, 1); err != nil || len(maps) != 0 {
			t.Errorf("RandomMaps(-1, -2) = %v, %v", maps, err)
		}
		if maps, err := RandomMaps(2, -2, 1); err != nil || len(maps) != 2 || len(maps[0]) != 0 {
			t.Errorf("RandomMaps(2, -2) = %v, %v", maps, err)
		}
	}()
}

// TestRandomMapsBounded: huge sizes are an error before anything is allocated (RandomMaps(MaxInt, 2) panicked
// in make, and 100,000 maps of 100,000 patches asked for 80 GB).
func TestRandomMapsBounded(t *testing.T) {
	for _, c := range [][2]int{{math.MaxInt, 2}, {100_000, 100_000}, {2, math.MaxInt}, {math.MaxInt, math.MaxInt}} {
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Errorf("RandomMaps(%d, %d) panicked: %v", c[0], c[1], r)
				}
			}()
			if maps, err := RandomMaps(c[0], c[1], 1); err == nil || !strings.Contains(err.Error(), "random maps: ") || maps != nil {
				t.Errorf("RandomMaps(%d, %d): %d maps, %v", c[0], c[1], len(maps), err)
			}
		}()
	}
}

// TestUnsupportedDTypeSaidPlainly: a model in a dtype the backend cannot run (bfloat16 on the Go backend, which
// has no bfloat16 softmax) is refused by New in one line naming the dtype; the explainer ran it and failed in
// Probabilities and Explain with GoMLX's names of generated functions ("convertExecFn[...].func13#1: Graph failed
// to execute: executing FusedSoftmax").
func TestUnsupportedDTypeSaidPlainly(t *testing.T) {
	b := testBackend(t)
	cfg, _ := vitnb.Preset("micro28")
	cfg.Depth, cfg.DType = 1, dtypes.BFloat16
	if vitnb.CheckDType(b, cfg) == nil {
		t.Skipf("%s runs bfloat16: nothing to refuse", b.Name())
	}
	e, err := New(b, model.NewStore(), cfg)
	if err == nil {
		pix := make([]float32, cfg.ImageSize*cfg.ImageSize*cfg.Channels)
		_, err = e.Probabilities(pix, 1)
	}
	if err == nil || !strings.Contains(err.Error(), "BFloat16") || strings.Contains(err.Error(), "convertExecFn") ||
		strings.Contains(err.Error(), "Graph failed") || strings.Contains(err.Error(), "\n") {
		t.Errorf("a bfloat16 model on %s: %v", b.Name(), err)
	}
}

// TestExplainNonFiniteInput: an input holding Inf is an error that blames the input in Explain and Probabilities.
func TestExplainNonFiniteInput(t *testing.T) {
	cfg, _ := vitnb.Preset("micro28")
	cfg.Depth = 1
	e, err := New(testBackend(t), model.NewStore(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	pix := make([]float32, cfg.ImageSize*cfg.ImageSize*cfg.Channels)
	pix[7] = float32(math.Inf(1))
	if _, err := e.Probabilities(pix, 1); err == nil || !strings.Contains(err.Error(), "the input of image 0 holds +Inf") {
		t.Errorf("Probabilities: %v", err)
	}
	if _, err := e.Explain(pix, 1, nil); err == nil || !strings.Contains(err.Error(), "the input of image 0 holds +Inf") {
		t.Errorf("Explain: %v", err)
	}
}
