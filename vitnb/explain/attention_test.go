package explain

import (
	"math"
	"slices"
	"testing"
)

func near(t *testing.T, what string, got, want []float64, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: got %d values %v, want %d %v", what, len(got), got, len(want), want)
	}
	for i := range got {
		if math.Abs(got[i]-want[i]) > tol || math.IsNaN(got[i]) {
			t.Fatalf("%s: got %v, want %v", what, got, want)
		}
	}
}

func att(heads ...[]float64) Attention {
	n := int(math.Sqrt(float64(len(heads[0]))))
	return Attention{Heads: len(heads), Tokens: n, Weights: heads}
}

func TestRolloutByHand(t *testing.T) {
	// One block, two heads: mean [[.5,.5],[.5,.5]]; with the residual, 0.5*A + 0.5*I = [[.75,.25],[.25,.75]].
	r, err := Rollout([]Attention{att([]float64{1, 0, 0, 1}, []float64{0, 1, 1, 0})})
	if err != nil {
		t.Fatal(err)
	}
	near(t, "one block", r, []float64{.75, .25, .25, .75}, 1e-12)

	// Two blocks that do not commute: Â1 = [[.5,.5],[0,1]], Â2 = [[1,0],[.5,.5]]; R = Â2·Â1.
	r, err = Rollout([]Attention{att([]float64{0, 1, 0, 1}), att([]float64{1, 0, 1, 0})})
	if err != nil {
		t.Fatal(err)
	}
	near(t, "two blocks", r, []float64{.5, .5, .25, .75}, 1e-12)
	for q := 0; q < 2; q++ {
		if s := r[2*q] + r[2*q+1]; math.Abs(s-1) > 1e-12 {
			t.Fatalf("row %d sums to %g", q, s)
		}
	}
	if _, err := Rollout(nil); err == nil {
		t.Fatal("no error for no blocks")
	}
	if _, err := Rollout([]Attention{att([]float64{1, 0, 0, 1}), att([]float64{1})}); err == nil {
		t.Fatal("no error for blocks of different sizes")
	}
}

func TestPatchMapAndRawAttention(t *testing.T) {
	// 3 tokens: a class token and two patches.
	m := []float64{
		.2, .3, .5,
		.1, .6, .3,
		.4, .4, .2,
	}
	got, err := PatchMap(m, 3, 1)
	if err != nil {
		t.Fatal(err)
	}
	near(t, "class token row", got, []float64{.3, .5}, 1e-12)
	got, err = PatchMap(m, 3, 0)
	if err != nil {
		t.Fatal(err)
	}
	near(t, "mean of rows (no class token)", got, []float64{.7 / 3, 1.3 / 3, 1. / 3}, 1e-12)
	if _, err := PatchMap(m, 2, 1); err == nil {
		t.Fatal("no error for a matrix of the wrong size")
	}

	// Raw attention reads the last block only, averaged over its heads.
	first := att([]float64{1, 0, 0, 0, 1, 0, 0, 0, 1})
	last := att(m, []float64{0, 1, 0, 0, 1, 0, 0, 1, 0})
	got, err = RawAttention([]Attention{first, last}, 1)
	if err != nil {
		t.Fatal(err)
	}
	near(t, "raw attention", got, []float64{.65, .25}, 1e-12)
	if _, err := RawAttention(nil, 1); err == nil {
		t.Fatal("no error for no blocks")
	}
}

func TestGradientRelevanceByHand(t *testing.T) {
	// Two tokens, one block with two heads. (G⊙A)⁺ per head, then the mean over heads:
	//   head 0: A = [[.5,.5],[.25,.75]], G = [[2,-1],[4,0]]  -> [[1,0],[1,0]]
	//   head 1: A = [[1,0],[0,1]],       G = [[-3,5],[0,2]]  -> [[0,0],[0,2]]
	//   Ā = [[.5,0],[.5,1]]; R = I + Ā·I = [[1.5,0],[.5,2]].
	a1 := att([]float64{.5, .5, .25, .75}, []float64{1, 0, 0, 1})
	g1 := att([]float64{2, -1, 4, 0}, []float64{-3, 5, 0, 2})
	r, err := GradientRelevance([]Attention{a1}, []Attention{g1})
	if err != nil {
		t.Fatal(err)
	}
	near(t, "one block", r, []float64{1.5, 0, .5, 2}, 1e-12)

	// A second block with Ā2 = [[0,1],[0,0]] (one head): R = R1 + Ā2·R1 = [[1.5,0],[.5,2]] + [[.5,2],[0,0]].
	a2 := att([]float64{.5, .5, .5, .5})
	g2 := att([]float64{0, 2, -1, 0})
	r, err = GradientRelevance([]Attention{a1, a2}, []Attention{g1, g2})
	if err != nil {
		t.Fatal(err)
	}
	near(t, "two blocks", r, []float64{2, 2, .5, 2}, 1e-12)

	if _, err := GradientRelevance([]Attention{a1}, nil); err == nil {
		t.Fatal("no error for missing gradients")
	}
	if _, err := GradientRelevance([]Attention{a1}, []Attention{a2}); err == nil {
		t.Fatal("no error for a gradient with another number of heads")
	}
}

func TestMeanDistanceByHand(t *testing.T) {
	// Class token + 2x2 grid of 4-pixel patches: 5 tokens.
	const T = 5
	self := make([]float64, T*T)
	opposite := make([]float64, T*T)
	halfCls := make([]float64, T*T)
	uniform := make([]float64, T*T)
	for q := 0; q < T; q++ {
		self[q*T+q] = 1
		for k := range T {
			uniform[q*T+k] = 1. / T
		}
	}
	for i := 0; i < 4; i++ {
		opposite[(1+i)*T+1+(3-i)] = 1 // patch 0 <-> 3, 1 <-> 2: diagonal, 4*sqrt(2) pixels
		halfCls[(1+i)*T] = 0.5        // half on the class token, which is left out and renormalised away
		halfCls[(1+i)*T+1+(i^1)] = 0.5
	}
	a := att(self, opposite, halfCls, uniform)
	d, err := a.MeanDistance(1, 2, 4)
	if err != nil {
		t.Fatal(err)
	}
	// Uniform attention on a 2x2 grid: per query, 1/4 of (0 + 4 + 4 + 4√2) = 2 + √2.
	near(t, "mean distance", d, []float64{0, 4 * math.Sqrt2, 4, 2 + math.Sqrt2}, 1e-12)
	if u := UniformDistance(2, 4); math.Abs(u-(2+math.Sqrt2)) > 1e-12 {
		t.Fatalf("uniform distance %g, want 2+√2", u)
	}
	if m := MaxDistance(2, 4); math.Abs(m-4*math.Sqrt2) > 1e-12 {
		t.Fatalf("max distance %g, want 4√2", m)
	}
	if _, err := a.MeanDistance(0, 2, 4); err == nil {
		t.Fatal("no error for a wrong grid")
	}

	// Averaged over images: the two images' per-head values averaged, per block.
	b := att(opposite, self, halfCls, uniform)
	avg, err := MeanDistances([][]Attention{{a}, {b}}, 1, 2, 4)
	if err != nil {
		t.Fatal(err)
	}
	near(t, "mean over images", avg[0], []float64{2 * math.Sqrt2, 2 * math.Sqrt2, 4, 2 + math.Sqrt2}, 1e-12)
	if _, err := MeanDistances([][]Attention{{a}, {a, b}}, 1, 2, 4); err == nil {
		t.Fatal("no error for images with different numbers of blocks")
	}
}

func TestDeletionOrderAndArea(t *testing.T) {
	order := DeletionOrder([]float64{.1, .7, .3, .7})
	if want := []int{1, 3, 2, 0}; !slices.Equal(order, want) {
		t.Fatalf("order %v, want %v (descending, ties by index)", order, want)
	}
	if a := trapezoid([]float64{0, .5, 1}, []float64{1, 1, 0}); math.Abs(a-.75) > 1e-12 {
		t.Fatalf("area %g, want .75", a)
	}
	m, err := RandomMaps(3, 5, 7)
	if err != nil || len(m) != 3 || len(m[2]) != 5 || m[0][0] == m[1][0] {
		t.Fatalf("random maps %v", m)
	}
	if again, _ := RandomMaps(3, 5, 7); again[1][3] != m[1][3] {
		t.Fatal("random maps differ for the same seed")
	}
}
