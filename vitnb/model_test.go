package vitnb

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/support/exceptions"
	"github.com/vitnb/vitnb/vitnb/backend"
)

// Parameter counts with a 1000-class head at 224x224, from google-research/vision_transformer
// vit_jax/models_test.py (MODEL_SIZES).
var referenceParamCounts = map[string]int{
	"Ti/16": 5_717_416,
	"S/32":  22_878_952,
	"S/16":  22_050_664,
	"B/32":  88_224_232,
	"B/16":  86_567_656,
	"B/8":   86_576_872,
	"L/32":  306_535_400,
	"L/16":  304_326_632,
	"H/14":  632_045_800,
	// "-gap-norep": global average pooling, no class token.
	"S/32-gap": 22_878_184,
	"S/16-gap": 22_049_896,
	"B/32-gap": 88_222_696,
	"B/16-gap": 86_566_120,
}

// textbookParams counts a ViT's parameters with the formula written out by hand, independently of
// Config.VariableShapes: patch projection, class token, position embeddings, per block two LayerNorms, four
// attention projections and the two MLP layers, the final norm, pre-logits and head.
func textbookParams(c Config) int {
	d, m, p := c.Width, c.MLPDim, c.PatchSize
	n := c.NumPatches()
	total := p*p*c.Channels*d + d // patch embedding
	if c.Pooling == PoolToken {
		total += d + (n+1)*d // class token, position embeddings
	} else {
		total += n * d
	}
	perBlock := 2*(2*d) + 4*(d*d+d) + (d*m + m) + (m*d + d)
	total += c.Depth*perBlock + 2*d
	repr := d
	if c.RepresentationSize > 0 {
		total += d*c.RepresentationSize + c.RepresentationSize
		repr = c.RepresentationSize
	}
	return total + repr*c.NumClasses + c.NumClasses
}

func TestParamCounts(t *testing.T) {
	for name, want := range referenceParamCounts {
		t.Run(name, func(t *testing.T) {
			preset, gap := strings.CutSuffix(name, "-gap")
			cfg, err := Preset(preset)
			if err != nil {
				t.Fatal(err)
			}
			if gap {
				cfg.Pooling = PoolMean
			}
			if got := cfg.NumParams(); got != want {
				t.Errorf("%s: %d parameters, the reference code has %d", name, got, want)
			}
		})
	}
	// Every preset, including those without a published count, agrees with the textbook formula.
	for _, name := range PresetNames() {
		cfg, err := Preset(name)
		if err != nil {
			t.Fatal(err)
		}
		if err := cfg.Validate(); err != nil {
			t.Errorf("preset %s does not validate: %v", name, err)
		}
		for _, c := range []Config{cfg, withRepr(cfg, 768), withPooling(cfg, PoolMean)} {
			if got, want := c.NumParams(), textbookParams(c); got != want {
				t.Errorf("%s (pooling %s, repr %d): %d parameters, formula says %d", name, c.Pooling,
					c.RepresentationSize, got, want)
			}
		}
	}
}

func withRepr(c Config, r int) Config        { c.RepresentationSize = r; return c }
func withPooling(c Config, p Pooling) Config { c.Pooling = p; return c }

func TestPresetNames(t *testing.T) {
	for alias, want := range map[string]string{
		"B/16": "B/16", "ViT-B/16": "B/16", "ViT-B_16": "B/16", "vit_base_patch16_224": "B/16",
		"vit_tiny_patch16_224.augreg_in21k": "Ti/16", "ti/16": "Ti/16", "h/14": "H/14", "tiny32": "tiny32",
	} {
		cfg, err := Preset(alias)
		if err != nil {
			t.Errorf("Preset(%q): %v", alias, err)
			continue
		}
		if cfg.Name != want {
			t.Errorf("Preset(%q) = %s, want %s", alias, cfg.Name, want)
		}
	}
	if _, err := Preset("B/15"); err == nil || !strings.Contains(err.Error(), "B/16") {
		t.Errorf("unknown preset should fail listing the known ones, got %v", err)
	}
}

func TestValidate(t *testing.T) {
	base, _ := Preset("micro32")
	for _, tc := range []struct {
		mutate func(*Config)
		want   string
	}{
		{func(c *Config) { c.ImageSize = 30 }, "not divisible by the patch size"},
		{func(c *Config) { c.Heads = 3 }, "not divisible by the number of heads"},
		{func(c *Config) { c.Depth = 0 }, "depth must be positive"},
		{func(c *Config) { c.Pooling = "max" }, "pooling"},
		{func(c *Config) { c.Dropout = 1 }, "dropout"},
		{func(c *Config) { c.GELU = "relu" }, "gelu"},
	} {
		c := base
		tc.mutate(&c)
		err := c.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Validate() = %v, want an error containing %q", err, tc.want)
		}
	}
}

// testBackend returns the backend vitnb chooses (GOMLX_BACKEND selects another in CI).
func testBackend(t testing.TB) compute.Backend {
	t.Helper()
	b, _, err := backend.New()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// randomTensor returns a float32 tensor with values uniform in [-scale, scale).
func randomTensor(rng *rand.Rand, scale float64, dims ...int) *tensors.Tensor {
	n := 1
	for _, d := range dims {
		n *= d
	}
	data := make([]float32, n)
	for i := range data {
		data[i] = float32((rng.Float64()*2 - 1) * scale)
	}
	return tensors.FromFlatDataAndDimensions(data, dims...)
}

func flat(t *tensors.Tensor) []float32 { return tensors.MustCopyFlatData[float32](t) }

func assertClose(t *testing.T, what string, got, want []float32, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	maxDiff := 0.0
	for i := range got {
		maxDiff = math.Max(maxDiff, math.Abs(float64(got[i])-float64(want[i])))
	}
	if maxDiff > tol || math.IsNaN(maxDiff) {
		t.Errorf("%s: max difference %g > %g", what, maxDiff, tol)
	}
}

// TestModelVariablesMatchShapes builds the whole model and checks it creates exactly Config.VariableShapes,
// for both poolings and with a pre-logits layer, and that the outputs have the documented shapes.
func TestModelVariablesMatchShapes(t *testing.T) {
	b := testBackend(t)
	base, _ := Preset("micro32")
	base.Depth = 2
	for _, cfg := range []Config{base, withPooling(base, PoolMean), withRepr(base, 32)} {
		store := model.NewStore()
		exec := model.MustNewExec(b, store, func(scope *model.Scope, images *graph.Node) []*graph.Node {
			out := Forward(scope, cfg, images, ForwardOptions{ReturnAttention: true, ReturnTokens: true})
			nodes := []*graph.Node{out.Logits, out.Representation}
			nodes = append(nodes, out.Attention...)
			return append(nodes, out.Tokens...)
		})
		outs := exec.MustCall(randomTensor(rand.New(rand.NewPCG(1, 2)), 1, 3, 32, 32, 3))
		want := cfg.VariableShapes()
		got := map[string][]int{}
		params := 0
		for v := range store.IterVariables() {
			if strings.HasPrefix(v.Name(), "#") {
				continue // GoMLX's own state, such as the random number generator's "#rngState".
			}
			got[strings.TrimPrefix(v.Path(), "/")] = v.Shape().Dimensions
			params += v.Shape().Size()
		}
		for name, dims := range want {
			if g, ok := got[name]; !ok {
				t.Errorf("%s: variable %s not created", cfg.Pooling, name)
			} else if !slices.Equal(g, dims) {
				t.Errorf("%s: variable %s has shape %v, want %v", cfg.Pooling, name, g, dims)
			}
		}
		for name := range got {
			if _, ok := want[name]; !ok {
				t.Errorf("%s: unexpected variable %s", cfg.Pooling, name)
			}
		}
		if params != cfg.NumParams() {
			t.Errorf("the model has %d parameters, config says %d", params, cfg.NumParams())
		}
		repr := cfg.Width
		if cfg.RepresentationSize > 0 {
			repr = cfg.RepresentationSize
		}
		wantShapes := [][]int{{3, 10}, {3, repr}}
		for range cfg.Depth {
			wantShapes = append(wantShapes, []int{3, cfg.Heads, cfg.NumTokens(), cfg.NumTokens()})
		}
		for range cfg.Depth + 1 {
			wantShapes = append(wantShapes, []int{3, cfg.NumTokens(), cfg.Width})
		}
		for i, o := range outs {
			if !slices.Equal(o.Shape().Dimensions, wantShapes[i]) {
				t.Errorf("output %d has shape %v, want %v", i, o.Shape().Dimensions, wantShapes[i])
			}
		}
		// Attention weights are a softmax over keys: every row sums to 1.
		att := flat(outs[2])
		n := cfg.NumTokens()
		for row := 0; row < len(att)/n; row++ {
			sum := 0.0
			for _, a := range att[row*n : (row+1)*n] {
				sum += float64(a)
			}
			if math.Abs(sum-1) > 1e-5 {
				t.Fatalf("attention row %d sums to %g", row, sum)
			}
		}
	}
}

// setVariable creates the variable name (relative to the root scope) with the given value.
func setVariable(t *testing.T, store *model.Store, name string, value *tensors.Tensor) {
	t.Helper()
	if _, err := store.RootScope().Store().CreateVariable("/"+name, value); err != nil {
		t.Fatal(err)
	}
}

// TestPatchEmbeddingEqualsConvolution compares PatchEmbedding with a stride-p convolution written out in loops.
func TestPatchEmbeddingEqualsConvolution(t *testing.T) {
	b := testBackend(t)
	cfg := Config{Name: "conv", ImageSize: 12, Channels: 3, PatchSize: 4, Width: 5, Depth: 1, Heads: 1}.WithDefaults()
	rng := rand.New(rand.NewPCG(3, 4))
	const batch = 2
	s, c, p, d, n := cfg.ImageSize, cfg.Channels, cfg.PatchSize, cfg.Width, cfg.GridSize()
	images := randomTensor(rng, 1, batch, s, s, c)
	kernel := randomTensor(rng, 0.5, p, p, c, d)
	bias := randomTensor(rng, 0.5, d)

	store := model.NewStore()
	setVariable(t, store, "embedding/kernel", kernel)
	setVariable(t, store, "embedding/bias", bias)
	exec := model.MustNewExec1(b, store, func(scope *model.Scope, x *graph.Node) *graph.Node {
		return PatchEmbedding(scope.In("embedding"), cfg, x)
	})
	got := flat(exec.MustCall1(images))

	img, k, bs := flat(images), flat(kernel), flat(bias)
	want := make([]float32, batch*n*n*d)
	for bi := 0; bi < batch; bi++ {
		for row := 0; row < n; row++ {
			for col := 0; col < n; col++ {
				for o := 0; o < d; o++ {
					sum := float64(bs[o])
					for y := 0; y < p; y++ {
						for x := 0; x < p; x++ {
							for ch := 0; ch < c; ch++ {
								pix := img[((bi*s+row*p+y)*s+col*p+x)*c+ch]
								sum += float64(pix) * float64(k[((y*p+x)*c+ch)*d+o])
							}
						}
					}
					want[((bi*n+row)*n+col)*d+o] = float32(sum)
				}
			}
		}
	}
	assertClose(t, "patch embedding vs convolution", got, want, 1e-5)
}

// TestPatchify compares Patchify on a non-square colour image with the token matrix written out in loops (patches
// in reading order, each in (row, column, channel) order), and checks that a patch size that does not divide the
// image is refused.
func TestPatchify(t *testing.T) {
	b := testBackend(t)
	const batch, h, w, c, p = 2, 8, 12, 3, 4
	rng := rand.New(rand.NewPCG(7, 8))
	images := randomTensor(rng, 1, batch, h, w, c)
	exec := model.MustNewExec1(b, model.NewStore(), func(_ *model.Scope, x *graph.Node) *graph.Node {
		return Patchify(x, p)
	})
	out := exec.MustCall1(images)
	if got, want := out.Shape().Dimensions, []int{batch, (h / p) * (w / p), p * p * c}; !slices.Equal(got, want) {
		t.Fatalf("Patchify: shape %v, want %v", got, want)
	}
	img := flat(images)
	var want []float32
	for bi := 0; bi < batch; bi++ {
		for row := 0; row < h/p; row++ {
			for col := 0; col < w/p; col++ {
				for y := 0; y < p; y++ {
					for x := 0; x < p; x++ {
						for ch := 0; ch < c; ch++ {
							want = append(want, img[((bi*h+row*p+y)*w+col*p+x)*c+ch])
						}
					}
				}
			}
		}
	}
	if got := flat(out); !slices.Equal(got, want) {
		t.Errorf("Patchify differs from the loops: got %v..., want %v...", got[:8], want[:8])
	}

	err := exceptions.TryCatch[error](func() {
		model.MustNewExec1(b, model.NewStore(), func(_ *model.Scope, x *graph.Node) *graph.Node {
			return Patchify(x, 5)
		}).MustCall1(images)
	})
	if err == nil || !strings.Contains(err.Error(), "multiples of the patch size 5") {
		t.Errorf("Patchify with patch 5 of a 8x12 image: err %v, want a refusal naming the patch size", err)
	}
}

// TestSelfAttentionMatchesReference compares SelfAttention (output and weights) with multi-head attention
// written out in loops from the same variables.
func TestSelfAttentionMatchesReference(t *testing.T) {
	b := testBackend(t)
	cfg := Config{Name: "att", ImageSize: 8, PatchSize: 4, Width: 8, Depth: 1, Heads: 2}.WithDefaults()
	const batch, tokens = 2, 5
	d, h, hd := cfg.Width, cfg.Heads, cfg.HeadDim()
	rng := rand.New(rand.NewPCG(5, 6))
	x := randomTensor(rng, 1, batch, tokens, d)
	vars := map[string]*tensors.Tensor{}
	store := model.NewStore()
	for _, name := range []string{"query", "key", "value"} {
		vars[name+"/kernel"] = randomTensor(rng, 0.5, d, h, hd)
		vars[name+"/bias"] = randomTensor(rng, 0.5, h, hd)
	}
	vars["out/kernel"] = randomTensor(rng, 0.5, h, hd, d)
	vars["out/bias"] = randomTensor(rng, 0.5, d)
	for name, v := range vars {
		setVariable(t, store, "att/"+name, v)
	}
	exec := model.MustNewExec2(b, store, func(scope *model.Scope, x *graph.Node) (*graph.Node, *graph.Node) {
		return SelfAttention(scope.In("att"), cfg, x, ForwardOptions{ReturnAttention: true})
	})
	gotOut, gotAtt := exec.MustCall2(x)

	xs := flat(x)
	proj := func(name string) []float64 { // [batch, tokens, heads, headDim]
		k, bias := flat(vars[name+"/kernel"]), flat(vars[name+"/bias"])
		out := make([]float64, batch*tokens*d)
		for bt := 0; bt < batch*tokens; bt++ {
			for o := 0; o < d; o++ {
				sum := float64(bias[o])
				for i := 0; i < d; i++ {
					sum += float64(xs[bt*d+i]) * float64(k[i*d+o])
				}
				out[bt*d+o] = sum
			}
		}
		return out
	}
	q, k, v := proj("query"), proj("key"), proj("value")
	wantAtt := make([]float32, batch*h*tokens*tokens)
	heads := make([]float64, batch*tokens*d) // concatenated head outputs
	for bi := 0; bi < batch; bi++ {
		for hi := 0; hi < h; hi++ {
			for i := 0; i < tokens; i++ {
				scores := make([]float64, tokens)
				maxScore := math.Inf(-1)
				for j := 0; j < tokens; j++ {
					for e := 0; e < hd; e++ {
						scores[j] += q[(bi*tokens+i)*d+hi*hd+e] * k[(bi*tokens+j)*d+hi*hd+e]
					}
					scores[j] /= math.Sqrt(float64(hd))
					maxScore = math.Max(maxScore, scores[j])
				}
				total := 0.0
				for j := range scores {
					scores[j] = math.Exp(scores[j] - maxScore)
					total += scores[j]
				}
				for j := range scores {
					w := scores[j] / total
					wantAtt[((bi*h+hi)*tokens+i)*tokens+j] = float32(w)
					for e := 0; e < hd; e++ {
						heads[(bi*tokens+i)*d+hi*hd+e] += w * v[(bi*tokens+j)*d+hi*hd+e]
					}
				}
			}
		}
	}
	ok, ob := flat(vars["out/kernel"]), flat(vars["out/bias"])
	wantOut := make([]float32, batch*tokens*d)
	for bt := 0; bt < batch*tokens; bt++ {
		for o := 0; o < d; o++ {
			sum := float64(ob[o])
			for i := 0; i < d; i++ {
				sum += heads[bt*d+i] * float64(ok[i*d+o])
			}
			wantOut[bt*d+o] = float32(sum)
		}
	}
	assertClose(t, "attention weights", flat(gotAtt), wantAtt, 1e-5)
	assertClose(t, "attention output", flat(gotOut), wantOut, 1e-4)

	// Both formulations without weights requested (the backend's fused kernel where it has one) give the same output.
	for _, a := range []backend.Attention{backend.AttentionFused, backend.AttentionDecomposed} {
		store2 := model.NewStore()
		for name, v := range vars {
			setVariable(t, store2, "att/"+name, v)
		}
		exec2 := model.MustNewExec1(b, store2, func(scope *model.Scope, x *graph.Node) *graph.Node {
			y, _ := SelfAttention(scope.In("att"), cfg, x, ForwardOptions{Attention: a})
			return y
		})
		assertClose(t, string(a)+" attention output", flat(exec2.MustCall1(x)), wantOut, 1e-4)
	}
}

// TestAttentionFormulationsAgree runs whole models (micro28: 4 heads of 16, the fused kernel's general case; a
// tiny32-like model with heads of 64 at 16 px) with the fused and the decomposed attention on the same weights and
// images (a random non-zero head): their representations and logits agree.
func TestAttentionFormulationsAgree(t *testing.T) {
	b := testBackend(t)
	micro, _ := Preset("micro28")
	tiny, _ := Preset("tiny32")
	tiny.ImageSize, tiny.Depth = 16, 2
	for _, cfg := range []Config{micro, tiny} {
		rng := rand.New(rand.NewPCG(7, 8))
		images := randomTensor(rng, 1, 3, cfg.ImageSize, cfg.ImageSize, cfg.Channels)
		store := model.NewStore()
		store.SetParam(model.ParamInitialSeed, int64(3))
		// A non-zero head, so that the logits are not zero whatever the attention computes.
		setVariable(t, store, "head/kernel", randomTensor(rng, 0.5, cfg.Width, cfg.NumClasses))
		var got [2][]float32
		for i, a := range []backend.Attention{backend.AttentionFused, backend.AttentionDecomposed} {
			exec := model.MustNewExec2(b, store, func(scope *model.Scope, x *graph.Node) (*graph.Node, *graph.Node) {
				out := Forward(scope, cfg, x, ForwardOptions{Attention: a})
				return out.Representation, out.Logits
			})
			rep, logits := exec.MustCall2(images)
			got[i] = append(flat(rep), flat(logits)...)
		}
		assertClose(t, cfg.Name+" fused vs decomposed attention", got[0], got[1], 1e-4)
	}
}

// TestWrongImageShape checks that images that do not match the config fail with a message naming both shapes.
func TestWrongImageShape(t *testing.T) {
	b := testBackend(t)
	cfg, _ := Preset("micro32")
	exec := model.MustNewExec1(b, model.NewStore(), func(scope *model.Scope, x *graph.Node) *graph.Node {
		return Logits(scope, cfg, x)
	})
	_, err := exec.Call1(randomTensor(rand.New(rand.NewPCG(1, 1)), 1, 1, 28, 28, 1))
	if err == nil || !strings.Contains(err.Error(), "images must be [batch, 32, 32, 3]") {
		t.Errorf("want an error naming the expected image shape, got %v", err)
	}
}

// TestFLOPs checks the analytic count against timm's figures for ViT-B/16: 17.6 GMACs at 224 and 55.5 at 384
// (fvcore counts one multiply-add, which is 2 FLOPs here).
func TestFLOPs(t *testing.T) {
	b16, _ := Preset("B/16")
	if got := float64(b16.FLOPs()) / 2e9; got < 17.4 || got > 17.7 {
		t.Errorf("B/16 forward: %.2f GMACs, want about 17.6", got)
	}
	b16.ImageSize = 384 // 577 tokens: timm lists 55.5 GMACs.
	if got := float64(b16.FLOPs()) / 2e9; got < 54.5 || got > 56.5 {
		t.Errorf("B/16 at 384: %.1f GMACs, want about 55.5", got)
	}
}

// TestMixedPrecision builds micro32 in bfloat16 and in float32 from the same seed: the bfloat16 model keeps float32
// variables (the same initial values), returns bfloat16 logits, and its logits agree with float32's to the
// precision of bfloat16 (8 bits of mantissa).
func TestMixedPrecision(t *testing.T) {
	b := testBackend(t)
	cfg, _ := Preset("micro32")
	cfg.Depth = 2
	half := cfg
	half.DType = dtypes.BFloat16
	if err := CheckDType(b, half); err != nil {
		// GoMLX's Go backend (compute v0.1.14) has no bfloat16 softmax: the error must say so plainly.
		// And without GoMLX's names of generated functions (convertExecFn[...].func40#1): the op and why.
		if !strings.Contains(strings.ToLower(err.Error()), "cannot run the model in bfloat16") ||
			strings.Contains(err.Error(), "convertExecFn") || strings.Contains(err.Error(), "Graph failed") ||
			strings.Contains(strings.ToLower(b.Name()), "xla") {
			t.Fatalf("CheckDType on %s: %v", b.Name(), err)
		}
		t.Logf("%s: %v", b.Name(), err)
		return
	}
	if err := CheckDType(b, cfg); err != nil {
		t.Fatalf("float32: %v", err)
	}
	images := func() *tensors.Tensor { return randomTensor(rand.New(rand.NewPCG(3, 4)), 1, 4, 32, 32, 3) }
	run := func(dt dtypes.DType) (*model.Store, dtypes.DType, []float32) {
		c := cfg
		c.DType = dt
		store := model.NewStore()
		store.SetParam(model.ParamInitialSeed, int64(7))
		// A non-zero head, so that the logits depend on the whole model.
		setVariable(t, store, "head/kernel", randomTensor(rand.New(rand.NewPCG(5, 6)), 0.3, c.Width, c.NumClasses))
		exec := model.MustNewExec(b, store, func(scope *model.Scope, x *graph.Node) []*graph.Node {
			logits := Logits(scope, c, x)
			return []*graph.Node{logits, graph.ConvertDType(logits, dtypes.Float32)}
		})
		out := exec.MustCall(images())
		return store, out[0].DType(), flat(out[1])
	}
	store32, _, want := run(dtypes.Float32)
	store16, dt16, got := run(dtypes.BFloat16)
	if dt16 != dtypes.BFloat16 {
		t.Errorf("bfloat16 model returned %s logits", dt16)
	}
	for v := range store16.IterVariables() {
		if strings.HasPrefix(v.Name(), "#") {
			continue
		}
		if v.DType() != dtypes.Float32 {
			t.Errorf("variable %s is %s, want float32 master weights", v.Path(), v.DType())
		}
		a := flat(store32.GetVariable(v.Path()).MustValue())
		if c := flat(v.MustValue()); !slices.Equal(a, c) {
			t.Errorf("variable %s: initial values differ between the float32 and bfloat16 models", v.Path())
		}
	}
	maxDiff, scale := 0.0, 0.0
	for i := range want {
		maxDiff = math.Max(maxDiff, math.Abs(float64(got[i]-want[i])))
		scale = math.Max(scale, math.Abs(float64(want[i])))
	}
	t.Logf("bfloat16 vs float32 logits: max difference %.4g (logits up to %.3g)", maxDiff, scale)
	if scale < 0.1 || maxDiff > 0.05*scale {
		t.Errorf("bfloat16 logits differ from float32 by %.4g (logits up to %.3g), want at most 5%%", maxDiff, scale)
	}
}

// TestPlainBackendError: GoMLX's messages are cut to their cause, on one line, and keep their chain.
func TestPlainBackendError(t *testing.T) {
	base := errors.New(`failed to execute graph "Store.Exec:github.com/gomlx/gomlx/ml/model.convertExecFn[...].func40#1": ` +
		"Graph failed to execute: executing FusedSoftmax: FusedSoftmax: dtype Float16: op not implemented")
	for in, want := range map[error]string{
		base: "FusedSoftmax: FusedSoftmax: dtype Float16: op not implemented",
		errors.New("convertExecFn[...].func13 panicked: Reshape: shapes [2 3] and [7] differ\ngoroutine 1 [running]:\nmain.main()"): "Reshape: shapes [2 3] and [7] differ",
		errors.New("plain"): "plain",
	} {
		got := PlainBackendError(in)
		if got.Error() != want || !errors.Is(got, in) {
			t.Errorf("%q: got %q, want %q", in, got, want)
		}
	}
	if PlainBackendError(nil) != nil {
		t.Error("nil")
	}
}

// TestConfigZeroAndNaN: the methods of a Config that Validate refuses (the zero Config, zero heads or patch size,
// an invalid dtype) return without panicking (they divided by zero, or asked an invalid dtype its size), and NaN
// rates and epsilons are refused by Validate (NaN compares false with every bound, so they passed it).
func TestConfigZeroAndNaN(t *testing.T) {
	base, _ := Preset("micro32")
	noHeads, noPatch := base, base
	noHeads.Heads, noPatch.PatchSize = 0, 0
	for name, c := range map[string]Config{"zero": {}, "no heads": noHeads, "no patch size": noPatch} {
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Errorf("%s config: panic %v", name, r)
				}
			}()
			_, _, _, _ = c.HeadDim(), c.GridSize(), c.NumPatches(), c.NumTokens()
			_, _, _ = c.VariableShapes(), c.NumParams(), c.FLOPs()
			_, _ = c.ParamTable(), c.String()
			_ = c.EstimateMemory(1, true)
			_, _ = c.ParamCount()
			_ = c.CheckVariables(nil)
			if c.Validate() == nil {
				t.Errorf("%s config: Validate accepted it", name)
			}
		}()
	}
	for _, tc := range []struct {
		mutate func(*Config)
		want   string
	}{
		{func(c *Config) { c.LayerNormEpsilon = math.NaN() }, "layer norm epsilon"},
		{func(c *Config) { c.LayerNormEpsilon = math.Inf(1) }, "layer norm epsilon"},
		{func(c *Config) { c.Dropout = math.NaN() }, "dropout"},
		{func(c *Config) { c.AttentionDropout = math.NaN() }, "attention dropout"},
		{func(c *Config) { c.DropPath = math.NaN() }, "drop path"},
	} {
		c := base
		tc.mutate(&c)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Validate() = %v, want an error containing %q", err, tc.want)
		}
	}
}

// TestInspectorBadInputs: a nil backend or store, an invalid model and no images are errors in vitnb's words,
// before GoMLX is asked (it logged a stack trace for a nil store, and failed compiling a graph for 0 images).
func TestInspectorBadInputs(t *testing.T) {
	cfg, _ := Preset("micro28")
	b := testBackend(t)
	for name, c := range map[string]struct {
		b     compute.Backend
		store *model.Store
		cfg   Config
		want  string
	}{
		"nil backend":   {nil, model.NewStore(), cfg, "no backend"},
		"nil store":     {b, nil, cfg, "no store"},
		"zero config":   {b, model.NewStore(), Config{}, "must be positive"},
		"invalid model": {b, model.NewStore(), Config{Name: "x", ImageSize: 28, PatchSize: 5}, "must be positive"},
	} {
		if _, err := NewInspector(c.b, c.store, c.cfg); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want an error containing %q", name, err, c.want)
		}
	}
	in, err := NewInspector(b, model.NewStore(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{0, -1} {
		if _, _, err := in.Run(nil, n); err == nil || !strings.Contains(err.Error(), "number of images must be positive") {
			t.Errorf("Run(nil, %d): got %v, want an error saying the number of images must be positive", n, err)
		}
	}
}
