package explain

import (
	"iter"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/train"

	"github.com/vitnb/vitnb/vitnb"
	"github.com/vitnb/vitnb/vitnb/backend"
	"github.com/vitnb/vitnb/vitnb/training"
)

// attentionScope is the scope of block i's attention, as vitnb names it (Google's checkpoint keys).
func attentionScope(i int) string { return vitnb.BlockScope(i) + "/MultiHeadDotProductAttention_1/" }

func testBackend(t testing.TB) compute.Backend {
	t.Helper()
	b, _, err := backend.New()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// setVar creates (or overwrites) the variable name with the given values in the model's dtype for parameters.
func setVar(t *testing.T, store *model.Store, cfg vitnb.Config, name string, values []float64, dims ...int) {
	t.Helper()
	var value *tensors.Tensor
	if cfg.ParamDType() == dtypes.Float64 {
		value = tensors.FromFlatDataAndDimensions(append([]float64(nil), values...), dims...)
	} else {
		f := make([]float32, len(values))
		for i, v := range values {
			f[i] = float32(v)
		}
		value = tensors.FromFlatDataAndDimensions(f, dims...)
	}
	if v := store.GetVariable("/" + name); v != nil {
		if err := v.SetValue(value); err != nil {
			t.Fatal(err)
		}
		return
	}
	if _, err := store.CreateVariable("/"+name, value); err != nil {
		t.Fatal(err)
	}
}

func toInt32(v []int) []int32 {
	out := make([]int32, len(v))
	for i, x := range v {
		out[i] = int32(x)
	}
	return out
}

func filled(n int, v float64) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = v
	}
	return out
}

func randomImages(seed uint64, n int, cfg vitnb.Config) []float32 {
	rng := rand.New(rand.NewPCG(seed, 1))
	pix := make([]float32, n*cfg.ImageSize*cfg.ImageSize*cfg.Channels)
	for i := range pix {
		pix[i] = rng.Float32()*2 - 1
	}
	return pix
}

// TestUniformAttentionByHand zeroes the query and key projections of a 2-block model, so that every head
// attends uniformly (all scores 0): raw attention is 1/T per patch, rollout is (0.5·U + 0.5·I)² = 0.75·U +
// 0.25·I (U² = U), so 0.75/T per patch, and the mean attention distance is the uniform baseline.
func TestUniformAttentionByHand(t *testing.T) {
	cfg := vitnb.Config{Name: "uniform", ImageSize: 8, Channels: 1, PatchSize: 4, Width: 8, Depth: 2, Heads: 2,
		MLPDim: 8, NumClasses: 3}.WithDefaults()
	store := model.NewStore()
	d, h, hd := cfg.Width, cfg.Heads, cfg.HeadDim()
	for i := range cfg.Depth {
		for _, p := range []string{"query", "key"} {
			setVar(t, store, cfg, attentionScope(i)+p+"/kernel", filled(d*d, 0), d, h, hd)
			setVar(t, store, cfg, attentionScope(i)+p+"/bias", filled(d, 0), h, hd)
		}
	}
	rng := rand.New(rand.NewPCG(5, 6))
	head := make([]float64, d*cfg.NumClasses)
	for i := range head {
		head[i] = rng.NormFloat64()
	}
	setVar(t, store, cfg, vitnb.VarHead+"/kernel", head, d, cfg.NumClasses)
	e, err := New(testBackend(t), store, cfg)
	if err != nil {
		t.Fatal(err)
	}
	const n = 2
	pix := randomImages(3, n, cfg)
	ex, err := e.Explain(pix, n, []int{2, -1})
	if err != nil {
		t.Fatal(err)
	}
	T := float64(cfg.NumTokens()) // 5: a class token and a 2x2 grid
	for i := range n {
		for b, a := range ex.Attention[i] {
			for hh := range a.Heads {
				near(t, "uniform attention", a.Weights[hh], filled(a.Tokens*a.Tokens, 1/T), 1e-6)
			}
			if len(ex.Gradients[i][b].Weights) != cfg.Heads {
				t.Fatalf("image %d block %d: %d heads of gradients", i, b, len(ex.Gradients[i][b].Weights))
			}
		}
		near(t, "raw attention", ex.Maps[MethodAttention][i], filled(cfg.NumPatches(), 1/T), 1e-6)
		near(t, "rollout", ex.Maps[MethodRollout][i], filled(cfg.NumPatches(), 0.75/T), 1e-6)
		if len(ex.Maps[MethodRelevance][i]) != cfg.NumPatches() {
			t.Fatalf("relevance map of %d values", len(ex.Maps[MethodRelevance][i]))
		}
	}
	if ex.Classes[0] != 2 {
		t.Errorf("explained class %d, asked for 2", ex.Classes[0])
	}
	if want := argmax(ex.Logits[1]); ex.Classes[1] != want {
		t.Errorf("explained class %d, predicted %d", ex.Classes[1], want)
	}
	dist, err := MeanDistances(ex.Attention, 1, cfg.GridSize(), cfg.PatchSize)
	if err != nil {
		t.Fatal(err)
	}
	for b := range dist {
		near(t, "uniform mean distance", dist[b], filled(cfg.Heads, UniformDistance(cfg.GridSize(), cfg.PatchSize)), 1e-5)
	}

	// Bad input is one clear error, not a panic.
	if _, err := e.Explain(pix[:10], n, nil); err == nil {
		t.Error("no error for too few values")
	}
	if _, err := e.Explain(pix, n, []int{0, 3}); err == nil {
		t.Error("no error for a class beyond the head")
	}
	noHead := cfg
	noHead.NumClasses = 0
	if _, err := New(testBackend(t), model.NewStore(), noHead); err == nil {
		t.Error("no error for a model without a head")
	}
}

func argmax(v []float32) int {
	best := 0
	for i, x := range v {
		if x > v[best] {
			best = i
		}
	}
	return best
}

// TestRelevanceGradientIsTheLogitsGradient checks ∂y/∂A, the input of the relevance rule, against finite
// differences. Scaling head h's attention in block b by (1+ε) scales that head's attention output A·V by (1+ε),
// which is the same as scaling its rows of the output projection kernel; so d/dε y(kernel·(1+ε)) at 0 must
// equal Σ_{q,k} ∂y/∂A_h ⊙ A_h. The model computes in float64 for the finite differences.
func TestRelevanceGradientIsTheLogitsGradient(t *testing.T) {
	cfg := vitnb.Config{Name: "fd", ImageSize: 8, Channels: 1, PatchSize: 4, Width: 8, Depth: 2, Heads: 2,
		MLPDim: 16, NumClasses: 3, DType: dtypes.Float64}.WithDefaults()
	b := testBackend(t)
	store := model.NewStore()
	store.SetParam(model.ParamInitialSeed, int64(11))
	rng := rand.New(rand.NewPCG(7, 8))
	head := make([]float64, cfg.Width*cfg.NumClasses)
	for i := range head {
		head[i] = rng.NormFloat64() // the reference head starts at zero, which would make every gradient 0
	}
	setVar(t, store, cfg, vitnb.VarHead+"/kernel", head, cfg.Width, cfg.NumClasses)
	e, err := New(b, store, cfg)
	if err != nil {
		t.Fatal(err)
	}
	const n = 2
	pix := randomImages(9, n, cfg)
	ex, err := e.Explain(pix, n, []int{-1, 0})
	if err != nil {
		t.Fatal(err)
	}
	// One graph evaluates y with each head's output kernel scaled by 1+ε and 1-ε in turn: the kernel's value in
	// the graph is replaced (Variable.SetNodeValue) before each model build and restored after, so the store's
	// variables are left unchanged.
	const eps = 1e-4
	exec := model.MustNewExec(b, store, func(scope *model.Scope, images *graph.Node) []*graph.Node {
		onehot := graph.OneHot(graph.Const(images.Graph(), toInt32(ex.Classes)), cfg.NumClasses, cfg.DType)
		var ys []*graph.Node
		for blk := range cfg.Depth {
			v := store.GetVariable("/" + attentionScope(blk) + "out/kernel")
			orig := v.NodeValue(images.Graph())
			for h := range cfg.Heads {
				for _, f := range []float64{1 + eps, 1 - eps} {
					scale := make([]float64, cfg.Heads) // kernel [heads, head_dim, width]: scale head h's rows
					for i := range scale {
						scale[i] = 1
					}
					scale[h] = f
					factor := graph.Reshape(graph.Const(images.Graph(), scale), cfg.Heads, 1, 1)
					v.SetNodeValue(graph.Mul(orig, factor))
					logits := vitnb.Logits(scope, cfg, images)
					ys = append(ys, graph.ReduceAllSum(graph.Mul(logits, onehot)))
				}
			}
			v.SetNodeValue(orig)
		}
		return ys
	})
	outs := exec.MustCall(tensors.FromFlatDataAndDimensions(pix, n, cfg.ImageSize, cfg.ImageSize, cfg.Channels))
	for blk := range cfg.Depth {
		for h := range cfg.Heads {
			k := 2 * (blk*cfg.Heads + h)
			up, down := outs[k].Value().(float64), outs[k+1].Value().(float64)
			numeric := (up - down) / (2 * eps)
			analytic := 0.0
			for i := range n {
				a, g := ex.Attention[i][blk].Weights[h], ex.Gradients[i][blk].Weights[h]
				for j := range a {
					analytic += a[j] * g[j]
				}
			}
			t.Logf("block %d head %d: Σ A⊙∂y/∂A %.6g, finite difference %.6g", blk, h, analytic, numeric)
			if math.Abs(analytic-numeric) > 1e-4*math.Max(1, math.Abs(numeric)) || numeric == 0 {
				t.Errorf("block %d head %d: Σ A⊙∂y/∂A = %g, finite difference %g", blk, h, analytic, numeric)
			}
		}
	}
	for i := range n {
		r, err := GradientRelevance(ex.Attention[i], ex.Gradients[i])
		if err != nil {
			t.Fatal(err)
		}
		want, _ := PatchMap(r, cfg.NumTokens(), 1)
		near(t, "relevance map", ex.Maps[MethodRelevance][i], want, 0)
	}
}

// onePatchModel builds a 1-block, mean-pooled model whose class-0 logit depends on patch star only: the block
// adds nothing (zero attention-output and MLP-output kernels), the patch embedding maps a patch's pixel sum s
// to (s, -s, 0, 0), and every other patch's position embedding adds (1000, -1000, 0, 0), which the final
// LayerNorm normalises to the same (√2, -√2, 0, 0) whatever the patch holds (for |s| ≤ 16 < 1000). Patch
// star's token normalises to ±(√2, -√2, 0, 0) by the sign of its pixel sum, and the head turns the mean of
// the first feature into a logit of ±200·√2/16 ≈ ±17.7 (probability ≈ 1 or ≈ 0).
func onePatchModel(t *testing.T, star int) (vitnb.Config, *model.Store) {
	cfg := vitnb.Config{Name: "one-patch", ImageSize: 16, Channels: 1, PatchSize: 4, Width: 4, Depth: 1, Heads: 1,
		MLPDim: 4, NumClasses: 2, Pooling: vitnb.PoolMean}.WithDefaults()
	store := model.NewStore()
	p, d, P := cfg.PatchSize, cfg.Width, cfg.NumPatches()
	kernel := make([]float64, p*p*d) // [p, p, 1, width]
	for i := range p * p {
		kernel[i*d], kernel[i*d+1] = 1, -1
	}
	setVar(t, store, cfg, vitnb.VarPatchKernel, kernel, p, p, 1, d)
	setVar(t, store, cfg, vitnb.VarPatchBias, filled(d, 0), d)
	pos := make([]float64, P*d)
	for k := range P {
		if k != star {
			pos[k*d], pos[k*d+1] = 1000, -1000
		}
	}
	setVar(t, store, cfg, vitnb.VarPosEmbedding, pos, 1, P, d)
	setVar(t, store, cfg, attentionScope(0)+"out/kernel", filled(d*d, 0), 1, d, d)
	setVar(t, store, cfg, attentionScope(0)+"out/bias", filled(d, 0), d)
	setVar(t, store, cfg, vitnb.BlockScope(0)+"/MlpBlock_3/Dense_1/kernel", filled(cfg.MLPDim*d, 0), cfg.MLPDim, d)
	setVar(t, store, cfg, vitnb.BlockScope(0)+"/MlpBlock_3/Dense_1/bias", filled(d, 0), d)
	const beta = 200 // logit scale: ±β·√2/16 is far from 0
	head := make([]float64, d*2)
	head[0] = beta
	setVar(t, store, cfg, vitnb.VarHead+"/kernel", head, d, 2)
	// Midway between the intact mean feature √2 and the removed one 14√2/16: 15√2/16.
	setVar(t, store, cfg, vitnb.VarHead+"/bias", []float64{-beta * 15 * math.Sqrt2 / 16, 0}, 2)
	return cfg, store
}

// TestDeletionFindsTheDecisivePatch runs the deletion test on the one-patch model with images whose patch star
// is white and the rest black: removing star first drops the class probability at once (area 1/32 with 16
// one-patch steps), removing it last keeps it to the end (31/32), and a random order lies between.
func TestDeletionFindsTheDecisivePatch(t *testing.T) {
	const star = 6
	cfg, store := onePatchModel(t, star)
	e, err := New(testBackend(t), store, cfg)
	if err != nil {
		t.Fatal(err)
	}
	const n = 8
	size := cfg.ImageSize * cfg.ImageSize
	pix := make([]float32, n*size)
	for i := range n {
		for y := range cfg.ImageSize {
			for x := range cfg.ImageSize {
				v := float32(-1)
				if (y/cfg.PatchSize)*cfg.GridSize()+x/cfg.PatchSize == star {
					v = 1
				}
				pix[i*size+y*cfg.ImageSize+x] = v
			}
		}
	}
	first, last := make([][]float64, n), make([][]float64, n)
	classes := make([]int, n)
	for i := range n {
		first[i], last[i] = filled(cfg.NumPatches(), 0), filled(cfg.NumPatches(), 1)
		first[i][star], last[i][star] = 1, 0
	}
	opts := DeletionOptions{Steps: cfg.NumPatches(), BatchSize: 24} // 136 variants: 6 calls, the last one padded
	best, err := e.Deletion(pix, n, first, classes, opts)
	if err != nil {
		t.Fatal(err)
	}
	worst, err := e.Deletion(pix, n, last, classes, opts)
	if err != nil {
		t.Fatal(err)
	}
	randomMaps, err := RandomMaps(n, cfg.NumPatches(), 1)
	if err != nil {
		t.Fatal(err)
	}
	random, err := e.Deletion(pix, n, randomMaps, classes, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("deletion AUC: decisive patch first %.4f, random %.4f, last %.4f", best.MeanAUC, random.MeanAUC, worst.MeanAUC)
	if len(best.Fractions) != 17 || best.Fractions[1] != 1./16 || best.Fractions[16] != 1 {
		t.Fatalf("fractions %v", best.Fractions)
	}
	if best.Curves[0][0] < 0.999 || best.Curves[0][1] > 0.001 {
		t.Errorf("curve with the decisive patch first: %v, want 1 then 0", best.Curves[0])
	}
	if math.Abs(best.MeanAUC-1./32) > 1e-3 || math.Abs(worst.MeanAUC-31./32) > 1e-3 {
		t.Errorf("AUC %g first and %g last, want 1/32 and 31/32", best.MeanAUC, worst.MeanAUC)
	}
	if !(random.MeanAUC > best.MeanAUC+0.1 && random.MeanAUC < worst.MeanAUC-0.1) {
		t.Errorf("random order's AUC %g is not between %g and %g", random.MeanAUC, best.MeanAUC, worst.MeanAUC)
	}

	// Zero filling (mid-grey): patch star's pixel sum becomes 0, its LayerNorm output 0, the logit 0.
	zero, err := e.Deletion(pix[:size], 1, first[:1], classes[:1], DeletionOptions{Fill: []float32{0}, Steps: 4})
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(zero.Curves[0][1]-0.5) > 1e-3 {
		t.Errorf("with zero filling the probability after removing the decisive patch is %g, want 0.5", zero.Curves[0][1])
	}

	for _, bad := range []DeletionOptions{{Steps: 17}, {Steps: -1}, {Fill: []float32{0, 0}}, {BatchSize: -2}} {
		if _, err := e.Deletion(pix, n, first, classes, bad); err == nil {
			t.Errorf("no error for options %+v", bad)
		}
	}
	if _, err := e.Deletion(pix, n, first[:2], classes, opts); err == nil {
		t.Error("no error for fewer maps than images")
	}
}

// squares is a synthetic three-class data set of 16x16 grey images: noise around mid-grey and, in one patch
// chosen at random, a white (class 0) or black (class 1) 4x4 square, or no square (class 2). The square is the
// only evidence of classes 0 and 1; without it an image looks like class 2, so deleting it drops their
// probability.
type squares struct{ seed uint64 }

func (q squares) Name() string { return "squares" }

func (q squares) Iter() iter.Seq2[train.Batch, error] {
	return func(yield func(train.Batch, error) bool) {
		for i := 0; ; i++ {
			pix, labels, _ := squareImages(q.seed, uint64(i), 16, 3)
			if !yield(train.Batch{
				Inputs: []*tensors.Tensor{tensors.FromFlatDataAndDimensions(pix, 16, 16, 16, 1)},
				Labels: []*tensors.Tensor{tensors.FromFlatDataAndDimensions(labels, 16)},
			}, nil) {
				return
			}
		}
	}
}

// squareImages returns n images of squares with labels drawn from the first classes classes, their labels and
// the patch (row-major in the 4x4 grid) of each square (-1 for class 2).
func squareImages(seed, batch uint64, n, classes int) ([]float32, []int32, []int) {
	rng := rand.New(rand.NewPCG(seed, batch))
	pix := make([]float32, n*16*16)
	labels := make([]int32, n)
	where := make([]int, n)
	for b := range n {
		labels[b] = int32(rng.IntN(classes))
		where[b] = rng.IntN(16)
		if labels[b] == 2 {
			where[b] = -1
		}
		for y := range 16 {
			for x := range 16 {
				v := rng.Float32()*0.4 - 0.2
				if (y/4)*4+x/4 == where[b] {
					v = float32(1 - 2*labels[b])
				}
				pix[(b*16+y)*16+x] = v
			}
		}
	}
	return pix, labels, where
}

// TestTrainedModelMaps trains a tiny model briefly (200 steps, under a second on the Go backend) on squares and checks that every
// explanation has one finite value per patch, that the deletion curves are probabilities and that deleting the
// square first beats a random order, and that the attention distances lie in [0, max].
func TestTrainedModelMaps(t *testing.T) {
	cfg := vitnb.Config{Name: "tiny", ImageSize: 16, Channels: 1, PatchSize: 4, Width: 16, Depth: 2, Heads: 2,
		MLPDim: 32, NumClasses: 3}.WithDefaults()
	b := testBackend(t)
	run, err := training.NewRun(b, training.Config{
		Model:     cfg,
		Optimizer: training.OptimizerConfig{Kind: "adamw", LearningRate: 1e-2, WarmupSteps: 10, TotalSteps: 200, ClipNorm: 1},
		BatchSize: 16,
		Seed:      3,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = run.Close() })
	if err := run.Train(squares{seed: 1}); err != nil {
		t.Fatal(err)
	}
	e, err := New(b, run.Store, cfg)
	if err != nil {
		t.Fatal(err)
	}
	const n = 6
	pix, labels, where := squareImages(99, 0, n, 2) // squares only: something to find
	ex, err := e.Explain(pix, n, nil)
	if err != nil {
		t.Fatal(err)
	}
	correct := 0
	for i := range n {
		if argmax(ex.Logits[i]) == int(labels[i]) {
			correct++
		}
		if len(ex.Attention[i]) != cfg.Depth || len(ex.Gradients[i]) != cfg.Depth {
			t.Fatalf("image %d: %d blocks of attention, %d of gradients", i, len(ex.Attention[i]), len(ex.Gradients[i]))
		}
		for _, m := range Methods {
			v := ex.Maps[m][i]
			if len(v) != cfg.NumPatches() {
				t.Fatalf("%s map of image %d has %d values, want %d", m, i, len(v), cfg.NumPatches())
			}
			for _, x := range v {
				if math.IsNaN(x) || math.IsInf(x, 0) || x < 0 {
					t.Fatalf("%s map of image %d: %v", m, i, v)
				}
			}
		}
	}
	t.Logf("%d of %d test images right after %d steps", correct, n, run.Step())
	found := map[Method]int{}
	for _, m := range Methods {
		for i := range n {
			if DeletionOrder(ex.Maps[m][i])[0] == where[i] {
				found[m]++
			}
		}
	}
	t.Logf("images whose square is the most relevant patch: %v of %d", found, n)
	if correct < n-1 {
		t.Errorf("trained model: %d of %d right", correct, n)
	}
	faith, err := e.Faithfulness(pix, n, ex, 1, DeletionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range append(Methods, MethodRandom) {
		d := faith[m]
		if d == nil || len(d.Curves) != n || len(d.MeanCurve) != len(d.Fractions) {
			t.Fatalf("%s: deletion result %+v", m, d)
		}
		for _, c := range d.Curves {
			for _, p := range c {
				if !(p >= 0 && p <= 1) {
					t.Fatalf("%s: probability %g", m, p)
				}
			}
		}
		t.Logf("deletion AUC of %s: %.3f", m, d.MeanAUC)
	}
	// Whether a map finds the square after 200 steps depends on the backend's rounding; the deletion test itself
	// must rank the square first by its own map (the square's patch, known here) far below a random order.
	oracle := make([][]float64, n)
	for i := range n {
		oracle[i] = make([]float64, cfg.NumPatches())
		oracle[i][where[i]] = 1
	}
	known, err := e.Deletion(pix, n, oracle, ex.Classes, DeletionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("deletion AUC of the square first: %.3f", known.MeanAUC)
	if known.MeanAUC > faith[MethodRandom].MeanAUC-0.1 {
		t.Errorf("deleting the square first gives an area of %.3f, a random order %.3f", known.MeanAUC, faith[MethodRandom].MeanAUC)
	}
	dist, err := MeanDistances(ex.Attention, 1, cfg.GridSize(), cfg.PatchSize)
	if err != nil {
		t.Fatal(err)
	}
	top := MaxDistance(cfg.GridSize(), cfg.PatchSize)
	for blk, heads := range dist {
		for h, v := range heads {
			if !(v >= 0 && v <= top) {
				t.Errorf("block %d head %d: mean distance %g outside [0, %g]", blk, h, v, top)
			}
		}
	}
}
