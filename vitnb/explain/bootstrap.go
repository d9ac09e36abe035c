package explain

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// BootstrapMean returns the mean of values and a 95% percentile bootstrap interval for it (Efron): the values
// (one per image, e.g. a method's deletion areas, Deletion.AUC) are resampled with replacement resamples times,
// from seed, and lo and hi are the 2.5th and 97.5th percentiles of the resampled means. For the difference of two
// methods on the same images, pass the per-image differences (a paired bootstrap): an interval that excludes 0
// says the difference is not the luck of which images were drawn.
func BootstrapMean(values []float64, resamples int, seed uint64) (mean, lo, hi float64, err error) {
	if len(values) == 0 {
		return 0, 0, 0, fmt.Errorf("explain: bootstrap of no values")
	}
	if resamples < 1 {
		return 0, 0, 0, fmt.Errorf("explain: bootstrap with %d resamples, want at least 1", resamples)
	}
	mean = meanOf(values)
	rng := rand.New(rand.NewPCG(seed, 0xb007)) // second PCG word: any fixed constant
	means := make([]float64, resamples)
	for r := range means {
		sum := 0.0
		for range values {
			sum += values[rng.IntN(len(values))]
		}
		means[r] = sum / float64(len(values))
	}
	slices.Sort(means)
	return mean, percentile(means, 0.025), percentile(means, 0.975), nil
}

func meanOf(v []float64) float64 {
	sum := 0.0
	for _, x := range v {
		sum += x
	}
	return sum / float64(len(v))
}

// percentile returns the q-quantile of sorted values, interpolating linearly between neighbours.
func percentile(sorted []float64, q float64) float64 {
	pos := q * float64(len(sorted)-1)
	i := int(math.Floor(pos))
	if i+1 >= len(sorted) {
		return sorted[len(sorted)-1]
	}
	return sorted[i] + (pos-float64(i))*(sorted[i+1]-sorted[i])
}
