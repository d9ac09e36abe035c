package training

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// blobs draws n features of dim d around one centre per class (noise of standard deviation sd); with
// randomLabels the labels are unrelated to the features.
func blobs(seed uint64, n, d, classes int, sd float64, randomLabels bool) *Features {
	rng := rand.New(rand.NewPCG(seed, 1))
	centres := rand.New(rand.NewPCG(99, 2)) // the same centres for train and test
	c := make([]float64, classes*d)
	for i := range c {
		c[i] = centres.NormFloat64() * 2
	}
	f := &Features{Dim: d}
	for range n {
		l := rng.IntN(classes)
		for j := range d {
			f.X = append(f.X, 5+c[l*d+j]+sd*rng.NormFloat64()) // offset: the probe must standardise
		}
		if randomLabels {
			l = rng.IntN(classes)
		}
		f.Labels = append(f.Labels, int32(l))
	}
	return f
}

func TestLinearProbe(t *testing.T) {
	cfg := ProbeConfig{Epochs: 10}
	res, err := LinearProbe(blobs(1, 2000, 8, 4, 1, false), blobs(2, 500, 8, 4, 1, false), 4, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.Accuracy < 0.95 || res.TrainAccuracy < 0.95 || len(res.Validation) != 4 {
		t.Errorf("separable blobs: test %.3f, train %.3f, %d trials; want >= 0.95 and 4 trials", res.Accuracy,
			res.TrainAccuracy, len(res.Validation))
	}
	chosen := false
	for _, tr := range res.Validation {
		chosen = chosen || tr.WeightDecay == res.WeightDecay
	}
	if !chosen {
		t.Errorf("chosen weight decay %g is not one of the trials %v", res.WeightDecay, res.Validation)
	}
	// Random labels: nothing to learn, test accuracy near chance (1/4).
	noise, err := LinearProbe(blobs(3, 2000, 8, 4, 1, true), blobs(4, 2000, 8, 4, 1, true), 4, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if noise.Accuracy > 0.32 {
		t.Errorf("random labels: test accuracy %.3f, want near 0.25", noise.Accuracy)
	}
	if _, err := LinearProbe(blobs(1, 100, 8, 4, 1, false), blobs(2, 10, 4, 4, 1, false), 4, cfg); err == nil ||
		!strings.Contains(err.Error(), "feature sizes") {
		t.Errorf("mismatched feature sizes: %v", err)
	}
	if _, err := LinearProbe(blobs(1, 100, 8, 4, 1, false), blobs(2, 10, 8, 4, 1, false), 3, cfg); err == nil ||
		!strings.Contains(err.Error(), "out of range") {
		t.Errorf("labels beyond the classes: %v", err)
	}
}
