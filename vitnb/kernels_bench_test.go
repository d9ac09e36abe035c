package vitnb

// Benchmarks of the backend's kernels at the shapes of the tiny32 preset trained with batch 128 (width 192,
// MLP 768, 65 tokens, 3 heads of 64): they isolate where a training step loses time against the backend's own
// matrix-product ceiling, and are the reproducers of the GoMLX costs written up in README.md ("Backends and speed"):
//
//	GOMLX_BACKEND=go:ops_sequential go test -run XXX -bench 'Dense|Attention' ./vitnb
//	GOMLX_BACKEND=xla:cpu           go test -run XXX -bench 'Dense|Attention' ./vitnb
//
// Each reports GFLOP/s counted as in Config.FLOPs: 2 per multiply-add of the matrix products only.
//
// BenchmarkInferModel runs whole-model inference of micro28 (batch 64) and tiny32 (batch 256) with the fused and
// the decomposed attention side by side (backend.AttentionFor picks between them by these numbers):
//
//	GOMLX_BACKEND=go:ops_sequential go test -run XXX -bench InferModel -count 3 ./vitnb

import (
	"fmt"
	"testing"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/layers/activation"
	"github.com/gomlx/gomlx/ml/layers/attention"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/nn"
	"github.com/vitnb/vitnb/vitnb/backend"
)

// tiny32's training batch, and the MLP's first layer at that batch: [128*65, 192] x [192, 768].
const trainBatch = 128
const benchM, benchK, benchN = trainBatch * 65, 192, 768

// runGraph compiles fn for the given input shapes and times it, reporting GFLOP/s for flops per call.
func runGraph(b *testing.B, flops float64, fn func(inputs []*Node) []*Node, inputShapes ...shapes.Shape) {
	be, _, err := backend.New()
	if err != nil {
		b.Fatal(err)
	}
	exec, err := NewExec(be, fn)
	if err != nil {
		b.Fatal(err)
	}
	args := make([]any, len(inputShapes))
	for i, s := range inputShapes {
		args[i] = benchTensor(b, s)
	}
	perSecond := timeCalls(b, func() ([]*tensors.Tensor, error) { return exec.Exec(args...) })
	b.ReportMetric(flops*perSecond/1e9, "GFLOP/s")
}

// benchTensor is a float32 tensor of the given shape filled with a repeating pattern of values in [-3/8, 3/8].
func benchTensor(b *testing.B, s shapes.Shape) *tensors.Tensor {
	t := tensors.FromShape(s)
	err := tensors.MutableFlatData(t, func(flat []float32) {
		for j := range flat {
			flat[j] = float32(j%7-3) / 8
		}
	})
	if err != nil {
		b.Fatal(err)
	}
	return t
}

// timeCalls runs call once outside the timing (compilation, warm-up), then times it, finalising its outputs after
// each call; it returns the calls per second.
func timeCalls(b *testing.B, call func() ([]*tensors.Tensor, error)) float64 {
	run := func() {
		outs, err := call()
		if err != nil {
			b.Fatal(err)
		}
		for _, o := range outs {
			if err := o.FinalizeAll(); err != nil {
				b.Fatal(err)
			}
		}
	}
	run()
	b.ResetTimer()
	for b.Loop() {
		run()
	}
	return float64(b.N) / b.Elapsed().Seconds()
}

func f32(dims ...int) shapes.Shape { return shapes.Make(dtypes.Float32, dims...) }

// BenchmarkDenseForward is x·W + b as the model computes it (nn.Dense, fused where the backend can).
func BenchmarkDenseForward(b *testing.B) {
	runGraph(b, 2*benchM*benchK*benchN, func(in []*Node) []*Node {
		return []*Node{nn.Dense(in[0], in[1], in[2], compute.DenseLayoutInputOutputs)}
	}, f32(benchM, benchK), f32(benchK, benchN), f32(benchN))
}

// BenchmarkDenseGradients is what training asks of each dense layer: the forward product and the gradients
// with respect to the input, the kernel and the bias (three products of equal cost).
func BenchmarkDenseGradients(b *testing.B) {
	runGraph(b, 3*2*benchM*benchK*benchN, func(in []*Node) []*Node {
		x, w, bias, dy := in[0], in[1], in[2], in[3]
		y := nn.Dense(x, w, bias, compute.DenseLayoutInputOutputs)
		loss := ReduceAllSum(Mul(y, dy))                         // d loss / d y = dy.
		return append([]*Node{y}, Gradient(loss, x, w, bias)...) // y returned, as training keeps it.
	}, f32(benchM, benchK), f32(benchK, benchN), f32(benchN), f32(benchM, benchN))
}

// BenchmarkDenseGradientsCeiling computes the same three products from operands already laid out for the
// matrix-product kernel (W transposed and x transposed given as inputs) and the bias gradient as a plain
// reduction: the time BenchmarkDenseGradients would take without its transposes.
func BenchmarkDenseGradientsCeiling(b *testing.B) {
	runGraph(b, 3*2*benchM*benchK*benchN, func(in []*Node) []*Node {
		x, w, wT, xT, dy := in[0], in[1], in[2], in[3], in[4]
		return []*Node{MatMul(x, w), MatMul(dy, wT), MatMul(xT, dy), ReduceSum(dy, 0)}
	}, f32(benchM, benchK), f32(benchK, benchN), f32(benchN, benchK), f32(benchK, benchM), f32(benchM, benchN))
}

// benchAttention times softmax(q·kᵀ/√d)·v over tiny32's 65 tokens and 3 heads of 64 at the given batch, laid
// out as [batch, tokens, heads, dim] (BSHD, as the model's projections give it) or [batch, heads, tokens, dim], fused
// (the backend's scaled-dot-product attention) or as plain products and a softmax, with or without the
// gradients with respect to q, k and v.
func benchAttention(b *testing.B, batch int, layout attention.AxesLayout, fused, gradients bool) {
	const tokens, heads, hd = 65, 3, 64
	qkv := f32(batch, tokens, heads, hd)
	if layout == attention.LayoutBHSD {
		qkv = f32(batch, heads, tokens, hd)
	}
	flops := float64(2 * 2 * batch * heads * tokens * tokens * hd) // q·kᵀ and the weighted sum of v.
	if gradients {
		flops *= 3
	}
	runGraph(b, flops, func(in []*Node) []*Node {
		q, k, v := in[0], in[1], in[2]
		y, _ := attention.Core(q, k, v, layout, attention.CoreOptions{Scale: 1 / sqrt(hd), DisableFusion: !fused})
		if !gradients {
			return []*Node{y}
		}
		return append([]*Node{y}, Gradient(ReduceAllSum(Mul(y, in[3])), q, k, v)...)
	}, qkv, qkv, qkv, qkv)
}

func BenchmarkAttentionFused(b *testing.B) {
	benchAttention(b, trainBatch, attention.LayoutBSHD, true, false)
}
func BenchmarkAttentionDecomposed(b *testing.B) {
	benchAttention(b, trainBatch, attention.LayoutBSHD, false, false)
}
func BenchmarkAttentionGradientsDecomposed(b *testing.B) {
	benchAttention(b, trainBatch, attention.LayoutBSHD, false, true)
}
func BenchmarkAttentionBHSDFused(b *testing.B) {
	benchAttention(b, trainBatch, attention.LayoutBHSD, true, false)
}
func BenchmarkAttentionBHSDDecomposed(b *testing.B) {
	benchAttention(b, trainBatch, attention.LayoutBHSD, false, false)
}
func BenchmarkAttentionBHSDGradientsDecomposed(b *testing.B) {
	benchAttention(b, trainBatch, attention.LayoutBHSD, false, true)
}

// Inference shapes of tiny32 at batch 256 (the batch of the PyTorch comparison, docs/RESULTS.md, "Backends and speed"):
// the pieces of one encoder block, to set beside PyTorch's (`compare_torch.py --blocks`).
const inferBatch, inferTokens, inferWidth, inferMLP, inferHeads, inferHeadDim = 256, 65, 192, 768, 3, 64

// BenchmarkInferQKV is the model's q, k, v: three [192x192] products, each transposed to heads-first (BHSD).
func BenchmarkInferQKV(b *testing.B) {
	runGraph(b, 3*2*inferBatch*inferTokens*inferWidth*inferWidth, func(in []*Node) []*Node {
		var outs []*Node
		for i := range 3 {
			y := nn.Dense(in[0], in[1+i], in[4], compute.DenseLayoutInputOutputs)
			y = Reshape(y, inferBatch, inferTokens, inferHeads, inferHeadDim)
			outs = append(outs, TransposeAllAxes(y, 0, 2, 1, 3))
		}
		return outs
	}, f32(inferBatch, inferTokens, inferWidth), f32(inferWidth, inferWidth), f32(inferWidth, inferWidth),
		f32(inferWidth, inferWidth), f32(inferWidth))
}

// BenchmarkInferQKVOneProduct computes q, k, v as timm does: one [192x576] product, here transposed once to
// [3, batch, heads, tokens, head_dim].
func BenchmarkInferQKVOneProduct(b *testing.B) {
	runGraph(b, 3*2*inferBatch*inferTokens*inferWidth*inferWidth, func(in []*Node) []*Node {
		y := nn.Dense(in[0], in[1], in[2], compute.DenseLayoutInputOutputs)
		y = Reshape(y, inferBatch, inferTokens, 3, inferHeads, inferHeadDim)
		return []*Node{TransposeAllAxes(y, 2, 0, 3, 1, 4)}
	}, f32(inferBatch, inferTokens, inferWidth), f32(inferWidth, 3*inferWidth), f32(3*inferWidth))
}

// BenchmarkInferAttention is softmax(q·kᵀ/√d)·v in BHSD, as the model runs it at inference.
func BenchmarkInferAttention(b *testing.B) {
	benchAttention(b, inferBatch, attention.LayoutBHSD, true, false)
}

// BenchmarkInferMLP is the MLP block with its residual: Dense(768) -> exact GELU -> Dense(192) + x.
func BenchmarkInferMLP(b *testing.B) {
	runGraph(b, 2*2*inferBatch*inferTokens*inferWidth*inferMLP, func(in []*Node) []*Node {
		y := activation.Gelu(nn.Dense(in[0], in[1], in[2], compute.DenseLayoutInputOutputs))
		return []*Node{Add(nn.Dense(y, in[3], in[4], compute.DenseLayoutInputOutputs), in[0])}
	}, f32(inferBatch, inferTokens, inferWidth), f32(inferWidth, inferMLP), f32(inferMLP), f32(inferMLP, inferWidth),
		f32(inferWidth))
}

// BenchmarkInferModel is whole-model inference (random weights and images) of micro28 at batch 64 and tiny32 at
// batch 256 with each attention formulation, adjacent so that one run compares them under the same load. It
// reports images/s besides GFLOP/s (Config.FLOPs). On backends without a fused attention kernel (XLA CPU) both
// run the decomposed products.
func BenchmarkInferModel(b *testing.B) {
	for _, tc := range []struct {
		preset string
		batch  int
	}{{"micro28", 64}, {"tiny32", 256}} {
		cfg, err := Preset(tc.preset)
		if err != nil {
			b.Fatal(err)
		}
		for _, a := range []backend.Attention{backend.AttentionFused, backend.AttentionDecomposed} {
			b.Run(fmt.Sprintf("%s-batch%d/%s", tc.preset, tc.batch, a), func(b *testing.B) {
				be, _, err := backend.New()
				if err != nil {
					b.Fatal(err)
				}
				store := model.NewStore()
				store.SetParam(model.ParamInitialSeed, int64(1))
				exec, err := model.NewExec1(be, store, func(scope *model.Scope, x *Node) *Node {
					return Forward(scope, cfg, x, ForwardOptions{Attention: a}).Logits
				})
				if err != nil {
					b.Fatal(err)
				}
				images := benchTensor(b, f32(tc.batch, cfg.ImageSize, cfg.ImageSize, cfg.Channels))
				perSecond := float64(tc.batch) * timeCalls(b, func() ([]*tensors.Tensor, error) {
					out, err := exec.Call1(images)
					return []*tensors.Tensor{out}, err
				})
				b.ReportMetric(perSecond, "images/s")
				b.ReportMetric(perSecond*float64(cfg.FLOPs())/1e9, "GFLOP/s")
			})
		}
	}
}
