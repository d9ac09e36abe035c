package training

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/train"

	"github.com/vitnb/vitnb/vitnb"
)

// Features are frozen image representations (vitnb.Outputs.Representation) with their labels.
type Features struct {
	X      []float64 // [N, Dim] row-major
	Labels []int32
	Dim    int
}

// Representations runs the model in store over every batch of data and collects the pooled representation
// that the head reads (the class token, or mean of tokens, after the encoder norm and pre-logits).
func Representations(b compute.Backend, store *model.Store, cfg vitnb.Config, data train.Dataset) (*Features, error) {
	exec, err := NewRepresentationExec(b, store, cfg)
	if err != nil {
		return nil, err
	}
	return RepresentationsWith(exec, data)
}

// NewRepresentationExec compiles the graph of RepresentationsWith: images in, float32 representations out.
func NewRepresentationExec(b compute.Backend, store *model.Store, cfg vitnb.Config) (*model.Exec, error) {
	if err := checkExecArgs(b, store); err != nil {
		return nil, err
	}
	var exec *model.Exec
	err := catch(func() {
		exec = model.MustNewExec(b, store, func(scope *model.Scope, images *Node) *Node {
			return ConvertDType(vitnb.Forward(scope, cfg, images, vitnb.ForwardOptions{}).Representation, dtypes.Float32)
		})
	})
	return exec, err
}

// RepresentationsWith is Representations with an executable of NewRepresentationExec.
func RepresentationsWith(exec *model.Exec, data train.Dataset) (*Features, error) {
	f := &Features{}
	for batch, err := range data.Iter() {
		if err != nil {
			return nil, fmt.Errorf("reading data: %w", err)
		}
		var out *tensors.Tensor
		if err := catch(func() { out = exec.MustCall(batch.Inputs[0])[0] }); err != nil {
			return nil, err
		}
		f.Dim = out.Shape().Dimensions[1]
		for i, v := range tensors.MustCopyFlatData[float32](out) {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				if x, ok := nonFiniteInput(batch.Inputs[0], i/f.Dim); ok {
					return nil, fmt.Errorf("example %d: the input holds %g: the data must be finite", len(f.Labels)+i/f.Dim, x)
				}
				return nil, fmt.Errorf("example %d: the model gave a non-finite representation (%g): its weights hold NaN "+
					"or infinite values", len(f.Labels)+i/f.Dim, v)
			}
			f.X = append(f.X, float64(v))
		}
		f.Labels = append(f.Labels, tensors.MustCopyFlatData[int32](batch.Labels[0])...)
		for _, t := range append([]*tensors.Tensor{out}, append(batch.Inputs, batch.Labels...)...) {
			_ = t.FinalizeAll()
		}
	}
	if len(f.Labels) == 0 {
		return nil, fmt.Errorf("no examples to compute representations of")
	}
	return f, nil
}

// FewShotL2 is the ridge penalty of the few-shot evaluation, 2^10 as the configs of
// google-research/big_vision (evaluators/fewshot_lsr.py, l2_reg=2.0**10) that report the paper's few-shot numbers.
const FewShotL2 = 1024

// fewShotBias is the constant feature standing for the bias, large so it is almost unregularised
// (big_vision's BIAS_CONSTANT).
const fewShotBias = 100.0

// check tells what is wrong with features, named what: nil, Dim not positive, X not Dim values per label, a value
// that is not finite.
func (f *Features) check(what string) error {
	switch {
	case f == nil:
		return fmt.Errorf("no %s features (nil)", what)
	case f.Dim <= 0 || len(f.X) != len(f.Labels)*f.Dim:
		return fmt.Errorf("%s features: %d values for %d examples of %d", what, len(f.X), len(f.Labels), f.Dim)
	}
	for i, x := range f.X {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return fmt.Errorf("%s features: example %d holds %g (value %d of %d)", what, i/f.Dim, x, i%f.Dim, f.Dim)
		}
	}
	return nil
}

// checkFeatures checks the training and test features of method (few-shot, linear probe).
func checkFeatures(method string, trainF, testF *Features) error {
	for _, f := range []struct {
		what string
		f    *Features
	}{{"training", trainF}, {"test", testF}} {
		if err := f.f.check(f.what); err != nil {
			return fmt.Errorf("%s: %w", method, err)
		}
	}
	return nil
}

// Bounds of a few-shot evaluation (CheckFewShot, FewShot), so that its time and memory stay bounded whatever a
// caller passes: the paper's evaluation uses 4 numbers of shots, a few draws, and representations of at most
// 1280 dimensions (ViT-H).
const (
	MaxFewShotSettings = 64   // numbers of shots in one call
	MaxFewShotSeeds    = 1000 // draws averaged per number of shots
	MaxFewShotDim      = 8192 // dimensions of a representation: the ridge system is (Dim+1)² values
)

// CheckFewShot tells what is wrong with the settings of a few-shot evaluation (FewShot), if anything: every number
// of shots at least 1 and given once (at most MaxFewShotSettings of them), a finite ridge penalty l2 >= 0, at
// least one draw and at most MaxFewShotSeeds.
func CheckFewShot(shots []int, l2 float64, seeds int) error {
	if len(shots) == 0 {
		return fmt.Errorf("few-shot: no numbers of shots")
	}
	if len(shots) > MaxFewShotSettings {
		return fmt.Errorf("few-shot: %d numbers of shots, at most %d", len(shots), MaxFewShotSettings)
	}
	seen := map[int]bool{}
	for _, k := range shots {
		if k < 1 {
			return fmt.Errorf("few-shot: %d shots: want at least 1 example per class", k)
		}
		if seen[k] {
			return fmt.Errorf("few-shot: %d shots given twice", k)
		}
		seen[k] = true
	}
	if !(l2 >= 0) || math.IsInf(l2, 0) {
		return fmt.Errorf("few-shot: the ridge penalty l2 must be a finite number >= 0, got %g", l2)
	}
	if seeds < 1 || seeds > MaxFewShotSeeds {
		return fmt.Errorf("few-shot: want 1 to %d draws (seeds), got %d", MaxFewShotSeeds, seeds)
	}
	return nil
}

// FewShot is the paper's few-shot linear evaluation (Section 4.1, "Metrics"): for each number of shots, it draws
// that many training examples per class (for each seed), whitens their frozen representations, and solves the
// regularised least-squares regression to {-1, 1} one-hot targets; the accuracy of the arg-max on the test
// representations is averaged over seeds. It returns accuracy by shots.
func FewShot(trainF, testF *Features, classes int, shots []int, l2 float64, seeds int) (map[int]float64, error) {
	if err := CheckFewShot(shots, l2, seeds); err != nil {
		return nil, err
	}
	if err := checkFeatures("few-shot", trainF, testF); err != nil {
		return nil, err
	}
	if classes <= 0 {
		return nil, fmt.Errorf("few-shot: want classes > 0, got %d", classes)
	}
	if classes > len(trainF.Labels) { // each class needs a training example; checked before allocating per class
		return nil, fmt.Errorf("few-shot: %d classes but only %d training examples", classes, len(trainF.Labels))
	}
	if trainF.Dim > MaxFewShotDim {
		return nil, fmt.Errorf("few-shot: representations of %d dimensions, at most %d", trainF.Dim, MaxFewShotDim)
	}
	byClass := make([][]int, classes)
	for i, l := range trainF.Labels {
		if int(l) < 0 || int(l) >= classes {
			return nil, fmt.Errorf("label %d out of range for %d classes", l, classes)
		}
		byClass[l] = append(byClass[l], i)
	}
	for _, k := range shots { // every number of shots possible, before any is computed
		for c, idx := range byClass {
			if len(idx) < k {
				return nil, fmt.Errorf("%d-shot needs %d examples of class %d, the training pool has %d", k, k, c, len(idx))
			}
		}
	}
	results := map[int]float64{}
	for _, k := range shots {
		total := 0.0
		for seed := range seeds {
			rng := rand.New(rand.NewPCG(uint64(seed), 0xfe))
			var pick []int
			for _, idx := range byClass {
				perm := rng.Perm(len(idx))
				for _, p := range perm[:k] {
					pick = append(pick, idx[p])
				}
			}
			acc, err := ridgeAccuracy(trainF, pick, testF, classes, l2)
			if err != nil {
				return nil, err
			}
			total += acc
		}
		results[k] = total / float64(seeds)
	}
	return results, nil
}

// ridgeAccuracy fits W = (XᵀX + l2·I)⁻¹ XᵀY on the picked training rows (whitened, with the bias feature) and
// returns the test accuracy.
func ridgeAccuracy(trainF *Features, pick []int, testF *Features, classes int, l2 float64) (float64, error) {
	d := trainF.Dim
	mean, std := make([]float64, d), make([]float64, d)
	for _, i := range pick {
		for j := range d {
			mean[j] += trainF.X[i*d+j] / float64(len(pick))
		}
	}
	for _, i := range pick {
		for j := range d {
			v := trainF.X[i*d+j] - mean[j]
			std[j] += v * v / float64(len(pick))
		}
	}
	for j := range std {
		std[j] = math.Sqrt(std[j]) + 1e-5 // As big_vision: std + 1e-5.
	}
	n := d + 1
	row := func(x []float64, i int, out []float64) {
		for j := range d {
			out[j] = (x[i*d+j] - mean[j]) / std[j]
		}
		out[d] = fewShotBias
	}
	a := make([]float64, n*n)
	rhs := make([]float64, n*classes)
	xi := make([]float64, n)
	for _, i := range pick {
		row(trainF.X, i, xi)
		for p := range n {
			for q := range n {
				a[p*n+q] += xi[p] * xi[q]
			}
			for c := range classes {
				y := -1.0
				if int(trainF.Labels[i]) == c {
					y = 1
				}
				rhs[p*classes+c] += xi[p] * y
			}
		}
	}
	for p := range n {
		a[p*n+p] += l2
	}
	w, err := choleskySolve(a, rhs, n, classes)
	if err != nil {
		return 0, err
	}
	hits := 0
	for i := range testF.Labels {
		row(testF.X, i, xi)
		best, bestScore := 0, math.Inf(-1)
		for c := range classes {
			s := 0.0
			for p := range n {
				s += xi[p] * w[p*classes+c]
			}
			if s > bestScore {
				best, bestScore = c, s
			}
		}
		if best == int(testF.Labels[i]) {
			hits++
		}
	}
	return float64(hits) / float64(len(testF.Labels)), nil
}

// choleskySolve solves A·X = B for a symmetric positive-definite A [n, n] and B [n, m], both row-major.
func choleskySolve(a, b []float64, n, m int) ([]float64, error) {
	l := make([]float64, n*n)
	for i := range n {
		for j := 0; j <= i; j++ {
			sum := a[i*n+j]
			for k := range j {
				sum -= l[i*n+k] * l[j*n+k]
			}
			if i == j {
				if sum <= 0 {
					return nil, fmt.Errorf("few-shot: the regularised system is not positive definite")
				}
				l[i*n+i] = math.Sqrt(sum)
			} else {
				l[i*n+j] = sum / l[j*n+j]
			}
		}
	}
	x := append([]float64(nil), b...)
	for c := range m { // L·y = b, then Lᵀ·x = y, one column at a time.
		for i := range n {
			s := x[i*m+c]
			for k := range i {
				s -= l[i*n+k] * x[k*m+c]
			}
			x[i*m+c] = s / l[i*n+i]
		}
		for i := n - 1; i >= 0; i-- {
			s := x[i*m+c]
			for k := i + 1; k < n; k++ {
				s -= l[k*n+i] * x[k*m+c]
			}
			x[i*m+c] = s / l[i*n+i]
		}
	}
	return x, nil
}
