package vitnb

import (
	"strings"
	"testing"
)

// TestParamCountOverflow: a width whose parameter count does not fit in 64 bits is refused by Validate (before,
// `vit params -width 4000000000` printed a negative total), and ParamCount agrees with NumParams elsewhere.
func TestParamCountOverflow(t *testing.T) {
	for _, name := range []string{"Ti/16", "B/16", "L/16", "H/14"} {
		cfg, err := Preset(name)
		if err != nil {
			t.Fatal(err)
		}
		n, err := cfg.ParamCount()
		if err != nil || n != int64(cfg.NumParams()) || n <= 0 {
			t.Errorf("%s: ParamCount %d, %v; NumParams %d", name, n, err, cfg.NumParams())
		}
	}
	cfg, _ := Preset("B/16")
	for _, width := range []int{4_000_000_000, 1 << 40} {
		cfg.Width, cfg.Heads = width, 1
		if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "overflows 64 bits") {
			t.Errorf("width %d: Validate() = %v, want an overflow error", width, err)
		}
		if err := cfg.CheckMemory(1, false); err == nil {
			t.Errorf("width %d: CheckMemory passed", width)
		}
	}
}

// TestValidateImageSize: an image side of 2^32 (whose (2^32)^2 patches wrapped to 0, "1 tokens") is refused by
// Validate, as is anything above MaxImageSize; MaxImageSize itself passes and its patch count does not wrap.
func TestValidateImageSize(t *testing.T) {
	cfg, err := Preset("micro32")
	if err != nil {
		t.Fatal(err)
	}
	for _, size := range []int{1 << 32, MaxImageSize + 1, 1 << 62} {
		c := cfg
		c.ImageSize, c.PatchSize = size, 1
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "pixels a side") {
			t.Errorf("image size %d: Validate() = %v, want a refusal", size, err)
		}
	}
	c := cfg
	c.ImageSize, c.PatchSize = MaxImageSize, 1
	if err := c.Validate(); err != nil {
		t.Errorf("image size %d: %v", MaxImageSize, err)
	}
	if got := c.NumPatches(); got != 1<<32 {
		t.Errorf("NumPatches at %d, patch 1: %d, want 2^32", MaxImageSize, got)
	}
	if err := c.CheckMemory(1, false); err == nil {
		t.Errorf("image size %d, patch 1: CheckMemory passed", MaxImageSize)
	}
}

// TestEstimateMemory checks the estimate against its formula for a small model and that the machine check refuses
// an absurd model or batch with one line, before anything is allocated.
func TestEstimateMemory(t *testing.T) {
	cfg := Config{Name: "tiny", ImageSize: 8, PatchSize: 4, Width: 16, Depth: 2, Heads: 2, NumClasses: 10}.WithDefaults()
	params := float64(cfg.NumParams())
	inf := cfg.EstimateMemory(4, false)
	if inf.Params != 4*params || inf.Optimizer != 0 {
		t.Errorf("inference parameters %v, optimizer %v; want %v, 0", inf.Params, inf.Optimizer, 4*params)
	}
	// 4 images of 8x8x3 float32, then one block: 5 tokens, width 16, 2 heads, mlp 64, float32.
	wantAct := 4*8*8*3*4 + 4*4*(6*5*16+2*2*5*5+2*5*64.0)
	if inf.Activations != wantAct {
		t.Errorf("inference activations %v, want %v", inf.Activations, wantAct)
	}
	tr := cfg.EstimateMemory(4, true)
	if tr.Optimizer != 3*inf.Params || tr.Activations <= inf.Activations || tr.Total() <= inf.Total() {
		t.Errorf("training %+v should exceed inference %+v", tr, inf)
	}
	if cfg.EstimateMemory(400, false).Activations <= inf.Activations {
		t.Error("activations do not grow with the batch")
	}

	if err := cfg.checkMemoryAgainst(4, true, 0, 1<<30, "test"); err != nil {
		t.Errorf("a tiny model does not fit in 1 GiB: %v", err)
	}
	err := cfg.checkMemoryAgainst(100_000_000, false, 0, 1<<30, "MemAvailable in test")
	if err == nil || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), "batch 100000000") ||
		!strings.Contains(err.Error(), "MemAvailable in test") || !strings.Contains(err.Error(), "1.1 GB available") {
		t.Errorf("batch of 1e8: got %v", err)
	}
	// On this machine: a width-300000 model (1e12 parameters, within 64 bits) cannot be trained.
	huge := cfg
	huge.Width, huge.Heads, huge.MLPDim = 300_000, 1, 1_200_000
	if err := huge.Validate(); err != nil {
		t.Fatal(err)
	}
	if err := huge.CheckMemory(1, true); err == nil || !strings.Contains(err.Error(), "needs about") {
		t.Errorf("width 300000: got %v", err)
	}
	if _, err := NewInspector(nil, nil, huge); err == nil || !strings.Contains(err.Error(), "needs about") {
		t.Errorf("NewInspector with width 300000: got %v", err)
	}
	t.Setenv(MemoryCheckEnv, "1")
	if err := huge.CheckMemory(1, true); err != nil {
		t.Errorf("%s=1 still checks: %v", MemoryCheckEnv, err)
	}
}

// TestWriteParamTableNilWriter: a nil writer is an error, not a panic (issue 24, item 5).
func TestWriteParamTableNilWriter(t *testing.T) {
	defer func() {
		if r := recover(); r != nil {
			t.Errorf("WriteParamTable(nil) panicked: %v", r)
		}
	}()
	if err := (Config{ImageSize: 8, Channels: 3, PatchSize: 4, Width: 16, Depth: 1, Heads: 2, MLPDim: 32}).WriteParamTable(nil); err == nil {
		t.Error("WriteParamTable(nil): no error")
	}
}
