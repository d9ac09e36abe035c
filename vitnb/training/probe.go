package training

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// ProbeConfig configures LinearProbe. The zero value gives the defaults.
type ProbeConfig struct {
	// Epochs over the training features for each fit (default 30).
	Epochs int
	// BatchSize of the stochastic gradient steps (default 256).
	BatchSize int
	// LearningRate is the peak of a cosine schedule for SGD with momentum 0.9 on standardised features
	// (default 0.1, as the linear probes of MoCo v3 and MAE start from with their batch sizes scaled down).
	LearningRate float64
	// WeightDecays are the L2 penalties tried; the one with the best accuracy on ValFraction of the training
	// features held out is used to refit on all of them (default 0, 1e-4, 1e-3, 1e-2).
	WeightDecays []float64
	// ValFraction of the training features held out to choose the weight decay (default 0.1).
	ValFraction float64
	// Seed of the hold-out split, the initial order and the shuffling.
	Seed uint64
}

func (c ProbeConfig) withDefaults() ProbeConfig {
	if c.Epochs <= 0 {
		c.Epochs = 30
	}
	if c.BatchSize <= 0 {
		c.BatchSize = 256
	}
	if c.LearningRate <= 0 {
		c.LearningRate = 0.1
	}
	if len(c.WeightDecays) == 0 {
		c.WeightDecays = []float64{0, 1e-4, 1e-3, 1e-2}
	}
	if c.ValFraction <= 0 || c.ValFraction >= 1 {
		c.ValFraction = 0.1
	}
	return c
}

// ProbeResult is the outcome of LinearProbe.
type ProbeResult struct {
	// Accuracy is the top-1 accuracy on the test features of the probe refit on all training features.
	Accuracy float64 `json:"accuracy"`
	// TrainAccuracy is its accuracy on the training features.
	TrainAccuracy float64 `json:"train_accuracy"`
	// WeightDecay is the penalty chosen on the held-out features.
	WeightDecay float64 `json:"weight_decay"`
	// Validation is the held-out accuracy of each penalty tried, in the order of ProbeConfig.WeightDecays.
	Validation []ProbeTrial `json:"validation"`
}

// ProbeTrial is the held-out accuracy of one weight decay.
type ProbeTrial struct {
	WeightDecay float64 `json:"weight_decay"`
	Accuracy    float64 `json:"accuracy"`
}

// LinearProbe is the linear evaluation of frozen representations used since the paper's follow-ups (MoCo v3,
// DINO, MAE): a softmax (multinomial logistic) regression from the standardised features to the classes, trained
// by SGD with momentum; the weight decay is chosen on held-out training features, then the probe is refit on all
// of them and scored on the test features. The few-shot evaluation (FewShot) uses a closed-form regression on a
// few examples per class instead.
func LinearProbe(trainF, testF *Features, classes int, cfg ProbeConfig) (*ProbeResult, error) {
	cfg = cfg.withDefaults()
	if err := checkFeatures("linear probe", trainF, testF); err != nil {
		return nil, err
	}
	finite := func(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }
	if !finite(cfg.LearningRate) || !finite(cfg.ValFraction) || slices.ContainsFunc(cfg.WeightDecays, func(w float64) bool { return !finite(w) || w < 0 }) {
		return nil, fmt.Errorf("linear probe: the learning rate %g, hold-out %g and weight decays %v must be finite (decays >= 0)",
			cfg.LearningRate, cfg.ValFraction, cfg.WeightDecays)
	}
	if testF.Dim != trainF.Dim {
		return nil, fmt.Errorf("linear probe: feature sizes %d (train) and %d (test) must agree", trainF.Dim, testF.Dim)
	}
	for _, f := range []*Features{trainF, testF} {
		for _, l := range f.Labels {
			if l < 0 || int(l) >= classes {
				return nil, fmt.Errorf("linear probe: label %d out of range for %d classes", l, classes)
			}
		}
	}
	n := len(trainF.Labels)
	nVal := int(math.Round(cfg.ValFraction * float64(n)))
	if nVal < classes || n-nVal < classes {
		return nil, fmt.Errorf("linear probe: %d training examples are too few to hold out %.0f%% for choosing the weight decay", n, 100*cfg.ValFraction)
	}
	perm := rand.New(rand.NewPCG(cfg.Seed, 0x9b0be)).Perm(n)
	val, fit := perm[:nVal], perm[nVal:]
	res := &ProbeResult{WeightDecay: math.NaN()}
	best := -1.0
	for _, wd := range cfg.WeightDecays {
		if wd < 0 {
			return nil, fmt.Errorf("linear probe: weight decay %g is negative", wd)
		}
		p := newProbe(trainF, fit, classes)
		p.train(trainF, fit, cfg, wd)
		acc := p.accuracy(trainF, val)
		res.Validation = append(res.Validation, ProbeTrial{WeightDecay: wd, Accuracy: acc})
		if acc > best {
			best, res.WeightDecay = acc, wd
		}
	}
	all := make([]int, n)
	for i := range all {
		all[i] = i
	}
	p := newProbe(trainF, all, classes)
	p.train(trainF, all, cfg, res.WeightDecay)
	res.TrainAccuracy = p.accuracy(trainF, all)
	test := make([]int, len(testF.Labels))
	for i := range test {
		test[i] = i
	}
	res.Accuracy = p.accuracy(testF, test)
	return res, nil
}

// probe is a linear classifier on standardised features: logits = ((x-mean)/std)·W + b.
type probe struct {
	dim, classes int
	mean, std    []float64
	w, b         []float64 // w [dim, classes] row-major
}

// newProbe standardises with the mean and standard deviation of the rows it is fit on.
func newProbe(f *Features, rows []int, classes int) *probe {
	d := f.Dim
	p := &probe{dim: d, classes: classes, mean: make([]float64, d), std: make([]float64, d),
		w: make([]float64, d*classes), b: make([]float64, classes)}
	for _, i := range rows {
		for j, v := range f.X[i*d : (i+1)*d] {
			p.mean[j] += v
		}
	}
	for j := range p.mean {
		p.mean[j] /= float64(len(rows))
	}
	for _, i := range rows {
		for j, v := range f.X[i*d : (i+1)*d] {
			p.std[j] += (v - p.mean[j]) * (v - p.mean[j])
		}
	}
	for j := range p.std {
		p.std[j] = math.Sqrt(p.std[j]/float64(len(rows))) + 1e-5 // + 1e-5 as big_vision's few-shot whitening
	}
	return p
}

// logits writes the standardised features of row i to x and the class scores to out.
func (p *probe) logits(f *Features, i int, x, out []float64) {
	for j := range p.dim {
		x[j] = (f.X[i*p.dim+j] - p.mean[j]) / p.std[j]
	}
	copy(out, p.b)
	for j, v := range x {
		row := p.w[j*p.classes : (j+1)*p.classes]
		for c := range out {
			out[c] += v * row[c]
		}
	}
}

// train runs SGD with momentum 0.9 on the mean cross-entropy plus wd/2·‖W‖² (the bias is not decayed), with a
// cosine learning-rate schedule over all steps, shuffling rows every epoch.
func (p *probe) train(f *Features, rows []int, cfg ProbeConfig, wd float64) {
	const momentum = 0.9
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x5a0be))
	order := slices.Clone(rows)
	stepsPerEpoch := (len(order) + cfg.BatchSize - 1) / cfg.BatchSize
	total := float64(cfg.Epochs * stepsPerEpoch)
	gw, gb := make([]float64, len(p.w)), make([]float64, len(p.b))
	vw, vb := make([]float64, len(p.w)), make([]float64, len(p.b))
	x, z := make([]float64, p.dim), make([]float64, p.classes)
	step := 0
	for range cfg.Epochs {
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		for start := 0; start < len(order); start += cfg.BatchSize {
			batch := order[start:min(start+cfg.BatchSize, len(order))]
			clear(gw)
			clear(gb)
			for _, i := range batch {
				p.logits(f, i, x, z)
				softmaxInPlace(z)
				z[f.Labels[i]] -= 1 // d(cross-entropy)/d(logits) = softmax - one-hot
				for j, v := range x {
					row := gw[j*p.classes : (j+1)*p.classes]
					for c, g := range z {
						row[c] += v * g
					}
				}
				for c, g := range z {
					gb[c] += g
				}
			}
			lr := cfg.LearningRate * 0.5 * (1 + math.Cos(math.Pi*float64(step)/total))
			inv := 1 / float64(len(batch))
			for k := range p.w {
				vw[k] = momentum*vw[k] + gw[k]*inv + wd*p.w[k]
				p.w[k] -= lr * vw[k]
			}
			for c := range p.b {
				vb[c] = momentum*vb[c] + gb[c]*inv
				p.b[c] -= lr * vb[c]
			}
			step++
		}
	}
}

// accuracy is the fraction of rows whose arg-max score is the label.
func (p *probe) accuracy(f *Features, rows []int) float64 {
	x, z := make([]float64, p.dim), make([]float64, p.classes)
	hits := 0
	for _, i := range rows {
		p.logits(f, i, x, z)
		if Predicted(z) == int(f.Labels[i]) {
			hits++
		}
	}
	return float64(hits) / float64(len(rows))
}

func softmaxInPlace(z []float64) {
	m := slices.Max(z)
	sum := 0.0
	for c, v := range z {
		z[c] = math.Exp(v - m)
		sum += z[c]
	}
	for c := range z {
		z[c] /= sum
	}
}
