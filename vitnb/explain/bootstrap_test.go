package explain

import (
	"math"
	"testing"
)

// TestBootstrapMean: the interval holds the mean, shrinks as the images grow in number (about 1/sqrt(n)), is the
// same for the same seed, and is [c, c] for constant values; for a normal sample its width is close to the
// textbook 2·1.96·σ/sqrt(n).
func TestBootstrapMean(t *testing.T) {
	sample := func(n int) []float64 { // a fixed, spread-out sample: a sawtooth of mean 0.5 and σ ≈ 0.2887
		v := make([]float64, n)
		for i := range v {
			v[i] = (float64(i%100) + 0.5) / 100
		}
		return v
	}
	mean, lo, hi, err := BootstrapMean(sample(100), 2000, 1)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(mean-0.5) > 1e-12 || !(lo < mean && mean < hi) {
		t.Fatalf("mean %v, interval [%v, %v]", mean, lo, hi)
	}
	want := 2 * 1.96 * 0.2887 / 10
	if w := hi - lo; math.Abs(w-want) > 0.15*want {
		t.Fatalf("interval width %.4f, want about %.4f", w, want)
	}
	_, lo4, hi4, _ := BootstrapMean(sample(400), 2000, 1)
	if r := (hi - lo) / (hi4 - lo4); r < 1.6 || r > 2.4 {
		t.Fatalf("4 times the images: width ratio %.2f, want about 2", r)
	}
	_, lo2, hi2, _ := BootstrapMean(sample(100), 2000, 1)
	if lo2 != lo || hi2 != hi {
		t.Fatal("the same seed gave another interval")
	}
	if m, l, h, _ := BootstrapMean([]float64{0.3, 0.3, 0.3}, 100, 7); m != 0.3 || l != 0.3 || h != 0.3 {
		t.Fatalf("constant values: %v [%v, %v]", m, l, h)
	}
	if _, _, _, err := BootstrapMean(nil, 100, 1); err == nil {
		t.Fatal("no error for no values")
	}
	if _, _, _, err := BootstrapMean([]float64{1}, 0, 1); err == nil {
		t.Fatal("no error for 0 resamples")
	}
}
