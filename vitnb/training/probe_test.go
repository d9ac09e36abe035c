package training

import (
	"math"
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

// TestBadFeatures: features whose values do not fill Dim per label, nil features, NaN values and a probe
// configuration with NaN or infinite numbers are errors that say so (FewShot indexed past X and panicked,
// LinearProbe dereferenced nil features, a NaN ValFraction or learning rate passed withDefaults).
func TestBadFeatures(t *testing.T) {
	good := blobs(1, 200, 8, 4, 1, false)
	short := &Features{X: make([]float64, 3), Labels: []int32{0, 1, 2, 3}, Dim: 5}
	nan := blobs(1, 200, 8, 4, 1, false)
	nan.X[7] = math.NaN()
	for name, c := range map[string]struct {
		train, test *Features
		want        string
	}{
		"short":     {short, good, "3 values for 4 examples of 5"},
		"nil test":  {good, nil, "no test features"},
		"nil train": {nil, good, "no training features"},
		"NaN":       {nan, good, "NaN"},
	} {
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Errorf("%s: panic %v", name, r)
				}
			}()
			if _, err := FewShot(c.train, c.test, 4, []int{1}, 1, 1); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("FewShot %s: got %v, want an error containing %q", name, err, c.want)
			}
			if _, err := LinearProbe(c.train, c.test, 4, ProbeConfig{Epochs: 1}); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("LinearProbe %s: got %v, want an error containing %q", name, err, c.want)
			}
		}()
	}
	for name, cfg := range map[string]ProbeConfig{
		"NaN hold-out":      {Epochs: 1, ValFraction: math.NaN()},
		"NaN learning rate": {Epochs: 1, LearningRate: math.NaN()},
		"infinite decay":    {Epochs: 1, WeightDecays: []float64{math.Inf(1)}},
	} {
		if _, err := LinearProbe(good, good, 4, cfg); err == nil || !strings.Contains(err.Error(), "linear probe") {
			t.Errorf("%s: got %v, want an error", name, err)
		}
	}
}
