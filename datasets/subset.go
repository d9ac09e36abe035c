package datasets

import "math/rand/v2"

// RandomSubset draws n examples of src without replacement, the same ones for the same seed: the labelled
// subsets of `vit finetune -max-train N -seed S` and of the notebooks' transfer runs are the same for the same
// N and S. n >= src.Len() returns every example, in order; a nil src gives an empty subset.
func RandomSubset(src Source, n int, seed uint64) *Subset {
	if src == nil {
		return &Subset{} // no source: an empty subset
	}
	if n >= src.Len() {
		all := make([]int, src.Len())
		for i := range all {
			all[i] = i
		}
		return &Subset{Src: src, Index: all}
	}
	perm := rand.New(rand.NewPCG(seed, 0x5eed)).Perm(src.Len())[:max(n, 0)]
	return &Subset{Src: src, Index: perm}
}
