package grade

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gomlx/gomlx/core/graph"

	"github.com/vitnb/vitnb/vitnb/backend"
)

// TestTolOnBackend: scaled dot-product attention computed by the backend of this test run (GOMLX_BACKEND: the
// pure-Go backend in `make test-go`, XLA CPU in `make test-xla`) in float32 passes Close at Tol against the same
// computed in float64 in plain Go, as a reference solution of a notebook exercise would; a result off by 1e-3
// (a student's slip, e.g. a missing scale) fails.
func TestTolOnBackend(t *testing.T) {
	b, _, err := backend.New()
	if err != nil {
		t.Fatal(err)
	}
	const n, d = 17, 16
	r := rand.New(rand.NewPCG(1, 2))
	q, k, v := make([][]float32, n), make([][]float32, n), make([][]float32, n)
	for i := range n {
		q[i], k[i], v[i] = make([]float32, d), make([]float32, d), make([]float32, d)
		for j := range d {
			q[i][j], k[i][j], v[i][j] = float32(r.NormFloat64()*2), float32(r.NormFloat64()*2), float32(r.NormFloat64())
		}
	}
	out, err := graph.ExecOnce(b, func(q, k, v *graph.Node) *graph.Node {
		scores := graph.MulScalar(graph.Einsum("qd,kd->qk", q, k), 1/math.Sqrt(d))
		return graph.Einsum("qk,kd->qd", graph.Softmax(scores, -1), v)
	}, q, k, v)
	if err != nil {
		t.Fatal(err)
	}
	want := make([][]float64, n)
	for i := range n {
		scores, total := make([]float64, n), 0.0
		for j := range n {
			for c := range d {
				scores[j] += float64(q[i][c]) * float64(k[j][c]) / math.Sqrt(d)
			}
		}
		m := scores[0]
		for _, s := range scores {
			m = max(m, s)
		}
		for j := range scores {
			scores[j] = math.Exp(scores[j] - m)
			total += scores[j]
		}
		want[i] = make([]float64, d)
		for j := range n {
			for c := range d {
				want[i][c] += scores[j] / total * float64(v[j][c])
			}
		}
	}
	if _, errOut, code := run(func(g *Grader) { g.Close("attention", out, want, Tol) }); code != -1 {
		t.Errorf("the backend's attention fails at Tol: %s", errOut)
	}
	want[3][5] += 1e-3 * (1 + math.Abs(want[3][5]))
	if _, errOut, code := run(func(g *Grader) { g.Close("attention", out, want, Tol) }); code != 1 {
		t.Errorf("an error of 1e-3 passes at Tol (%s)", errOut)
	}
}
