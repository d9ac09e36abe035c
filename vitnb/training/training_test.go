package training

import (
	"errors"
	"iter"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/model/checkpoint"
	"github.com/gomlx/gomlx/ml/train"

	"github.com/vitnb/vitnb/vitnb"
	"github.com/vitnb/vitnb/vitnb/backend"
)

// stripes is a synthetic two-class data set: class 0 images are bright on the left half, class 1 on the right,
// plus noise. Batch i is the same for the same seed, whatever happened before (like the datasets pipelines).
type stripes struct {
	seed      uint64
	batch     int
	batches   int // number of batches per Iter; 0 is endless
	failAfter int // if > 0, Iter fails after this many batches (an interrupted run)
}

func (s *stripes) Name() string { return "stripes" }

func (s *stripes) Iter() iter.Seq2[train.Batch, error] {
	return func(yield func(train.Batch, error) bool) {
		for i := 0; s.batches == 0 || i < s.batches; i++ {
			if s.failAfter > 0 && i == s.failAfter {
				yield(train.Batch{}, errors.New("simulated interruption"))
				return
			}
			rng := rand.New(rand.NewPCG(s.seed, uint64(i)))
			const size = 8
			images := make([]float32, s.batch*size*size)
			labels := make([]int32, s.batch)
			for b := range s.batch {
				labels[b] = int32(rng.IntN(2))
				for y := range size {
					for x := range size {
						v := rng.Float32()*0.6 - 0.3
						if (x < size/2) == (labels[b] == 0) {
							v += 0.7
						}
						images[(b*size+y)*size+x] = v
					}
				}
			}
			if !yield(train.Batch{
				Inputs: []*tensors.Tensor{tensors.FromFlatDataAndDimensions(images, s.batch, size, size, 1)},
				Labels: []*tensors.Tensor{tensors.FromFlatDataAndDimensions(labels, s.batch)},
			}, nil) {
				return
			}
		}
	}
}

func tinyModel() vitnb.Config {
	return vitnb.Config{Name: "test", ImageSize: 8, Channels: 1, PatchSize: 4, Width: 16, Depth: 1, Heads: 2,
		MLPDim: 32, NumClasses: 2}.WithDefaults()
}

func testBackend(t *testing.T) compute.Backend {
	b, _, err := backend.New()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func runFor(t *testing.T, dir string, steps int, resume bool, data train.Dataset, options ...func(*Config)) (*Run, error) {
	t.Helper()
	cfg := Config{
		Model:           tinyModel(),
		Optimizer:       OptimizerConfig{Kind: "adamw", LearningRate: 3e-3, WarmupSteps: 5, TotalSteps: steps, WeightDecay: 0.01, ClipNorm: 1},
		BatchSize:       16,
		Seed:            42,
		Dir:             dir,
		CheckpointEvery: 10,
		Resume:          resume,
		LogEvery:        5,
	}
	for _, o := range options {
		o(&cfg)
	}
	r, err := NewRun(testBackend(t), cfg)
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() { _ = r.Close() })
	err = r.Train(data)
	if err != nil {
		_ = r.Close() // as a failed process would: its lock on the folder goes
	}
	return r, err
}

func TestTrainLearnsAndEvaluates(t *testing.T) {
	r, err := runFor(t, t.TempDir(), 60, false, &stripes{seed: 1, batch: 16})
	if err != nil {
		t.Fatal(err)
	}
	m, err := Evaluate(r.Backend, r.Store, r.Config.Model, &stripes{seed: 99, batch: 50, batches: 4})
	if err != nil {
		t.Fatal(err)
	}
	if m.Examples != 200 || m.Top1 < 0.95 || m.Top5 != 1 {
		t.Errorf("after 60 steps: %d examples, top-1 %.3f, top-5 %.3f; want 200, >= 0.95 and 1", m.Examples, m.Top1, m.Top5)
	}
	total := 0
	for _, row := range m.Confusion {
		for _, n := range row {
			total += n
		}
	}
	if total != 200 || math.Abs(m.PerClass[0]*float64(m.Confusion[0][0]+m.Confusion[0][1])-float64(m.Confusion[0][0])) > 1e-9 {
		t.Errorf("confusion matrix %v and per-class accuracy %v disagree", m.Confusion, m.PerClass)
	}
	logs, err := os.ReadFile(filepath.Join(r.Config.Dir, "metrics.jsonl"))
	if err != nil || strings.Count(string(logs), "\n") != 12 {
		t.Errorf("metrics.jsonl should have 12 lines (every 5 of 60 steps): %v\n%s", err, logs)
	}
}

// halves yields each batch of its inner data set as two batches of half the size: with 2-batch gradient
// accumulation, a step sees the same images as one step on the inner data set.
type halves struct{ inner train.Dataset }

func (h halves) Name() string { return "halves" }

func (h halves) Iter() iter.Seq2[train.Batch, error] {
	return func(yield func(train.Batch, error) bool) {
		for b, err := range h.inner.Iter() {
			if err != nil {
				yield(b, err)
				return
			}
			images := tensors.MustCopyFlatData[float32](b.Inputs[0])
			labels := tensors.MustCopyFlatData[int32](b.Labels[0])
			dims := b.Inputs[0].Shape().Dimensions
			n, per := dims[0]/2, len(images)/dims[0]
			for part := range 2 {
				half := train.Batch{
					Inputs: []*tensors.Tensor{tensors.FromFlatDataAndDimensions(
						images[part*n*per:(part+1)*n*per], n, dims[1], dims[2], dims[3])},
					Labels: []*tensors.Tensor{tensors.FromFlatDataAndDimensions(labels[part*n:(part+1)*n], n)},
				}
				if !yield(half, nil) {
					return
				}
			}
		}
	}
}

// maxWeightDiff is the largest absolute difference between the float variables (other than progress metrics) of
// two stores, and the number of variables compared; a variable of a missing in b fails the test.
func maxWeightDiff(t *testing.T, a, b *model.Store) (float64, int) {
	t.Helper()
	compared, maxDiff := 0, 0.0
	for v := range a.IterVariables() {
		if strings.HasPrefix(v.Path(), "/metrics/") || strings.HasPrefix(v.Path(), "/"+train.AccumulatedGradientsScope+"/") || !v.DType().IsFloat() {
			continue // Progress metrics are per-run averages, not training state; accumulators are 0 between steps.
		}
		other := b.GetVariable(v.Path())
		if other == nil {
			t.Fatalf("variable %s missing", v.Path())
		}
		x, y := tensors.MustCopyFlatData[float32](v.MustValue()), tensors.MustCopyFlatData[float32](other.MustValue())
		for i := range x {
			maxDiff = math.Max(maxDiff, math.Abs(float64(x[i])-float64(y[i])))
		}
		compared++
	}
	return maxDiff, compared
}

// TestAccumulateGradients trains with batches of 16 and 2-batch accumulation, and with batches of 32: the mean of
// two half-batch gradients is the full batch's gradient, so the weights must agree to rounding. An interrupted
// accumulating run resumes at the right step and data position.
//
// The comparison uses SGD: Adam divides by the root of the second moments, which are near 0 for some weights in
// the first steps, so it turns rounding differences of the gradient sums (measured 3e-4 after 20 steps) into
// visible weight differences.
func TestAccumulateGradients(t *testing.T) {
	const steps = 20
	sgd := OptimizerConfig{Kind: "sgd", LearningRate: 0.05, WarmupSteps: 5, TotalSteps: steps, ClipNorm: 1}
	big, err := runFor(t, t.TempDir(), steps, false, &stripes{seed: 5, batch: 32},
		func(c *Config) { c.BatchSize, c.Optimizer = 32, sgd })
	if err != nil {
		t.Fatal(err)
	}
	accumulate := func(c *Config) { c.BatchSize, c.Accumulate, c.Optimizer = 16, 2, sgd }
	acc, err := runFor(t, t.TempDir(), steps, false, halves{&stripes{seed: 5, batch: 32}}, accumulate)
	if err != nil {
		t.Fatal(err)
	}
	if acc.Step() != steps {
		t.Fatalf("accumulating run ended at step %d, want %d", acc.Step(), steps)
	}
	diff, n := maxWeightDiff(t, big.Store, acc.Store)
	t.Logf("batch 32 vs 2 x 16 accumulated: max weight difference %g over %d variables", diff, n)
	if n < 10 || diff > 1e-5 {
		t.Errorf("max weight difference %g over %d variables, want at most 1e-5", diff, n)
	}
	// Without accumulation, batches of 16 give other weights: the test can tell.
	small, err := runFor(t, t.TempDir(), steps, false, halves{&stripes{seed: 5, batch: 32}},
		func(c *Config) { c.BatchSize, c.Optimizer = 16, sgd })
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := maxWeightDiff(t, big.Store, small.Store); d < 1e-3 {
		t.Errorf("batch 16 without accumulation is as close as %g to batch 32: the comparison cannot fail", d)
	}

	dir := t.TempDir()
	if _, err := runFor(t, dir, steps, false, halves{&stripes{seed: 5, batch: 32, failAfter: 13}}, accumulate); err == nil {
		t.Fatal("the interrupted run should fail")
	}
	resumed, err := runFor(t, dir, steps, true, halves{&stripes{seed: 5, batch: 32}}, accumulate)
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := maxWeightDiff(t, acc.Store, resumed.Store); resumed.Step() != steps || d > 1e-5 {
		t.Errorf("resumed accumulating run: step %d, max difference %g to the uninterrupted one", resumed.Step(), d)
	}
	if _, err := NewRun(testBackend(t), Config{Model: tinyModel(), Accumulate: -1,
		Optimizer: OptimizerConfig{LearningRate: 1e-3, TotalSteps: 10}}); err == nil || !strings.Contains(err.Error(), "accumulation") {
		t.Errorf("negative accumulation: %v", err)
	}
}

// TestMixedPrecisionTraining trains in bfloat16 with float32 master weights where the backend can (XLA), and
// checks that the Go backend refuses with a clear error.
func TestMixedPrecisionTraining(t *testing.T) {
	bf16 := func(c *Config) { c.Model.DType = dtypes.BFloat16 }
	r, err := runFor(t, t.TempDir(), 60, false, &stripes{seed: 1, batch: 16}, bf16)
	if err != nil {
		if !strings.Contains(strings.ToLower(err.Error()), "cannot run the model in bfloat16") ||
			strings.Contains(strings.ToLower(testBackend(t).Name()), "xla") {
			t.Fatalf("bfloat16 training: %v", err)
		}
		t.Logf("refused as expected: %v", err)
		return
	}
	for v := range r.Store.IterVariables() {
		if v.Trainable && v.DType() != dtypes.Float32 {
			t.Errorf("trainable variable %s is %s, want float32 master weights", v.Path(), v.DType())
		}
	}
	m, err := Evaluate(r.Backend, r.Store, r.Config.Model, &stripes{seed: 99, batch: 50, batches: 4})
	if err != nil {
		t.Fatal(err)
	}
	if m.Top1 < 0.95 {
		t.Errorf("bfloat16 training: top-1 %.3f after 60 steps, want >= 0.95", m.Top1)
	}
}

// TestResumeIsExact interrupts a run after its step-10 checkpoint, resumes it, and compares the final weights
// with those of an uninterrupted run: they must be equal bit for bit.
func TestResumeIsExact(t *testing.T) {
	full, err := runFor(t, t.TempDir(), 20, false, &stripes{seed: 3, batch: 16})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if _, err := runFor(t, dir, 20, false, &stripes{seed: 3, batch: 16, failAfter: 13}); err == nil ||
		!strings.Contains(err.Error(), "simulated interruption") {
		t.Fatalf("the interrupted run should fail with the data error, got %v", err)
	}
	if _, err := runFor(t, dir, 20, false, &stripes{seed: 3, batch: 16}); err == nil || !strings.Contains(err.Error(), "-resume") {
		t.Fatalf("a new run over existing checkpoints must refuse, got %v", err)
	}
	resumed, err := runFor(t, dir, 20, true, &stripes{seed: 3, batch: 16})
	if err != nil {
		t.Fatal(err)
	}
	if resumed.Step() != 20 {
		t.Fatalf("resumed run ended at step %d, want 20", resumed.Step())
	}
	// On the Go backend the resumed run equals the uninterrupted one bit for bit (TestResumeBitExact checks every
	// variable over several resumes). XLA CPU's multi-threaded kernels are not bit-reproducible across
	// compilations (differences around 1e-10, which Adam's division by the root of tiny second moments grows).
	maxDiff, compared := maxWeightDiff(t, full.Store, resumed.Store)
	tolerance := 0.0
	if strings.Contains(strings.ToLower(full.Backend.Name()), "xla") {
		tolerance = 1e-4 // XLA CPU: measured up to 5e-6.
	}
	if compared < 10 || maxDiff > tolerance {
		t.Errorf("compared %d variables: max difference %g, want at most %g", compared, maxDiff, tolerance)
	}
	t.Logf("resumed vs uninterrupted: max difference %g over %d variables", maxDiff, compared)
	names, _ := (&checkpoints{dir: dir}).list()
	if len(names) != 2 || !strings.Contains(names[1], "step-00000020") {
		t.Errorf("checkpoints kept: %v, want steps 10 and 20", names)
	}
}

func TestNaNStopsWithoutCheckpoint(t *testing.T) {
	dir := t.TempDir()
	cfg := Config{Model: tinyModel(), BatchSize: 16, Dir: dir, CheckpointEvery: 1, Seed: 1,
		Optimizer: OptimizerConfig{Kind: "sgd", LearningRate: 1e30, TotalSteps: 10}}
	r, err := NewRun(testBackend(t), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	err = r.Train(&stripes{seed: 1, batch: 16})
	if err == nil || !(strings.Contains(err.Error(), "loss became") || strings.Contains(err.Error(), "weights diverged")) {
		t.Fatalf("want a divergence error, got %v", err)
	}
	// Every checkpoint written holds finite weights.
	names, _ := (&checkpoints{dir: dir}).list()
	for _, n := range names {
		store := model.NewStore()
		if _, err := checkpoint.Build(store).Dir(dir).Immediate().Done(); err != nil {
			t.Fatal(err)
		}
		if err := checkFinite(store); err != nil {
			t.Errorf("checkpoint %s: %v", n, err)
		}
	}
}

func TestResumeOtherArchitecture(t *testing.T) {
	dir := t.TempDir()
	first, err := runFor(t, dir, 10, false, &stripes{seed: 1, batch: 16})
	if err != nil {
		t.Fatal(err)
	}
	_ = first.Close()
	cfg := Config{Model: tinyModel(), Dir: dir, Resume: true, Optimizer: OptimizerConfig{LearningRate: 1e-3, TotalSteps: 20}}
	cfg.Model.Width = 32
	if _, err := NewRun(testBackend(t), cfg); err == nil || !strings.Contains(err.Error(), "another architecture") {
		t.Errorf("want an architecture mismatch error, got %v", err)
	}
}

func TestSchedule(t *testing.T) {
	c := OptimizerConfig{LearningRate: 1, WarmupSteps: 10, TotalSteps: 110, Decay: "cosine"}
	for _, tc := range []struct {
		step int
		want float64
	}{{1, 0.1}, {5, 0.5}, {10, 1}, {60, 0.5}, {110, 0}} {
		if got := c.LearningRateAt(tc.step); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("cosine lr(%d) = %g, want %g", tc.step, got, tc.want)
		}
	}
	c.Decay = "linear"
	if got := c.LearningRateAt(35); math.Abs(got-0.75) > 1e-12 {
		t.Errorf("linear lr(35) = %g, want 0.75", got)
	}
	for _, bad := range []OptimizerConfig{
		{Kind: "adam", LearningRate: 1, TotalSteps: 10},
		{Kind: "sgd", LearningRate: 1, TotalSteps: 10, WeightDecay: 0.1},
		{Kind: "adamw", LearningRate: 1, TotalSteps: 10, WarmupSteps: 10},
		{Kind: "adamw", LearningRate: 0, TotalSteps: 10},
	} {
		if _, err := NewOptimizer(bad); err == nil {
			t.Errorf("NewOptimizer(%+v) should fail", bad)
		}
	}
}

func TestCholeskySolve(t *testing.T) {
	// A = [[4, 2], [2, 3]], B = [[2], [1]]: X = [[0.5], [0]].
	x, err := choleskySolve([]float64{4, 2, 2, 3}, []float64{2, 1}, 2, 1)
	if err != nil || math.Abs(x[0]-0.5) > 1e-12 || math.Abs(x[1]) > 1e-12 {
		t.Errorf("solution %v, %v", x, err)
	}
	if _, err := choleskySolve([]float64{1, 2, 2, 1}, []float64{1, 1}, 2, 1); err == nil {
		t.Error("an indefinite matrix must be refused")
	}
}

// TestFewShot checks the few-shot evaluation on features where each class lifts its own axis (plus noise): a few
// shots should be nearly perfect, more shots no worse, and too few examples an error.
func TestFewShot(t *testing.T) {
	make := func(n int, seed uint64) *Features {
		rng := rand.New(rand.NewPCG(seed, 1))
		f := &Features{Dim: 4}
		for i := range n {
			c := int32(i % 3)
			f.Labels = append(f.Labels, c)
			x := []float64{rng.NormFloat64(), rng.NormFloat64(), rng.NormFloat64(), rng.NormFloat64()}
			x[c] += 3
			f.X = append(f.X, x...)
		}
		return f
	}
	train, test := make(300, 1), make(90, 2)
	acc, err := FewShot(train, test, 3, []int{1, 5, 25}, 1, 3)
	if err != nil {
		t.Fatal(err)
	}
	if acc[5] < 0.85 || acc[25] < 0.9 || acc[25] < acc[1] {
		t.Errorf("few-shot accuracy %v on separable features", acc)
	}
	if _, err := FewShot(train, test, 3, []int{200}, 1, 1); err == nil {
		t.Error("200 shots from 100 examples per class must fail")
	}
}
