package vitnb

import (
	"math"
	"strings"
	"testing"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/ml/model"
)

// TestInspectorUnsupportedDType: an Inspector of a model in a dtype the backend cannot run (bfloat16 on the Go
// backend) is refused by NewInspector in one line naming the dtype, not run into GoMLX's "failed to execute graph
// \"Store.Exec:...convertExecFn[...].func40#1\": Graph failed to execute: executing FusedSoftmax" from Run.
func TestInspectorUnsupportedDType(t *testing.T) {
	b := testBackend(t)
	cfg, _ := Preset("micro28")
	cfg.Depth, cfg.DType = 1, dtypes.BFloat16
	if CheckDType(b, cfg) == nil {
		t.Skipf("%s runs bfloat16: nothing to refuse", b.Name())
	}
	in, err := NewInspector(b, model.NewStore(), cfg)
	if err == nil {
		_, _, err = in.Run(make([]float32, cfg.ImageSize*cfg.ImageSize*cfg.Channels), 1)
	}
	if err == nil || !strings.Contains(err.Error(), "BFloat16") || strings.Contains(err.Error(), "convertExecFn") ||
		strings.Contains(err.Error(), "Graph failed") || strings.Contains(err.Error(), "\n") {
		t.Errorf("a bfloat16 Inspector on %s: %v", b.Name(), err)
	}
}

// TestInspectorNonFiniteInput: NaN or infinite input is an error that blames the input, as Predict's; Run returned
// NaN logits without a word.
func TestInspectorNonFiniteInput(t *testing.T) {
	cfg, _ := Preset("micro28")
	cfg.Depth = 1
	in, err := NewInspector(testBackend(t), model.NewStore(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	per := cfg.ImageSize * cfg.ImageSize * cfg.Channels
	pix := make([]float32, 2*per)
	pix[per+3] = float32(math.NaN())
	if _, _, err := in.Run(pix, 2); err == nil || !strings.Contains(err.Error(), "the input of image 1 holds NaN (value 3 of its 784)") {
		t.Errorf("NaN in image 1: %v", err)
	}
}
