package grade

import (
	"bytes"
	"errors"
	"math"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	"github.com/gomlx/gomlx/core/tensors"
)

// run calls check with a Grader that records its output and exit code; a failed check's errFailed panic stops
// check as os.Exit would.
func run(check func(g *Grader)) (out, errOut string, code int) {
	var o, e bytes.Buffer
	code = -1
	g := &Grader{Out: &o, Err: &e, Exit: func(c int) { code = c }}
	func() {
		defer func() {
			if r := recover(); r != nil && r != errFailed {
				panic(r)
			}
		}()
		check(g)
	}()
	return o.String(), e.String(), code
}

func TestChecks(t *testing.T) {
	nan := math.NaN()
	tests := []struct {
		name  string
		check func(g *Grader)
		// want is the whole output: stdout on success (code -1: Exit not called), stderr on failure (code 1).
		want string
		code int
	}{
		{"close scalar", func(g *Grader) { g.Close("x", 1.00001, 1.0, 1e-4) }, "✓ x: the value is within 0.0001 of the reference\n", -1},
		{"close scalar off", func(g *Grader) { g.Close("x", 1.1, 1, 1e-4) }, "✗ x: got 1.1, want 1 (tolerance 0.0001)\n", 1},
		{"close slice types differ", func(g *Grader) { g.Close("v", []float32{1, 2, 3}, []float64{1, 2, 3}, 1e-6) },
			"✓ v: all 3 values are within 1e-06 of the reference\n", -1},
		{"close relative for large values", func(g *Grader) { g.Close("v", []float64{1000.05}, []float64{1000}, 1e-4) },
			"✓ v: the value is within 0.0001 of the reference\n", -1},
		{"close first differing element", func(g *Grader) {
			g.Close("patchify", [][]float32{{1, 2, 3}, {4, 5, 7}, {7, 9, 9}}, [][]float64{{1, 2, 3}, {4, 5, 6}, {7, 8, 9}}, 1e-3)
		}, "✗ patchify: element [1 2] is 7, want 6 (tolerance 0.001); 2 of 9 elements differ\n", 1},
		{"close shape", func(g *Grader) { g.Close("patchify", make([][]float32, 16), make([][]float32, 49), 1e-3) },
			"✗ patchify: shape 16×0, want 49×0\n", 1},
		{"close shape inner", func(g *Grader) {
			g.Close("patchify", [][]float32{{1, 2}, {3, 4}}, [][]float32{{1, 2, 0}, {3, 4, 0}}, 1e-3)
		}, "✗ patchify: shape 2×2, want 2×3\n", 1},
		{"close NaN got", func(g *Grader) { g.Close("x", []float64{nan}, []float64{0}, 1) }, "✗ x: element [0] is NaN, want 0 (tolerance 1)\n", 1},
		{"close NaN both", func(g *Grader) { g.Close("x", []float64{nan}, []float64{nan}, 1) }, "✓ x: the value is within 1 of the reference\n", -1},
		{"close Inf both", func(g *Grader) { g.Close("x", math.Inf(1), math.Inf(1), 0) }, "✓ x: the value is within 0 of the reference\n", -1},
		{"close ragged", func(g *Grader) { g.Close("m", [][]float64{{1, 2}, {3}}, [][]float64{{1, 2}, {3, 4}}, 0) },
			"✗ m: got a ragged value: not a 2×2 array\n", 1},
		{"close not a number", func(g *Grader) { g.Close("m", []string{"a"}, []float64{1}, 0) },
			"✗ m: element [0]: a is not a number (want 1)\n", 1},
		{"close nil", func(g *Grader) { g.Close("m", nil, []float64{1}, 0) }, "✗ m: got nil\n", 1},
		{"close tensor", func(g *Grader) {
			g.Close("attn", tensors.FromValue([][]float32{{0.25, 0.75}}), [][]float64{{0.25, 0.75}}, 1e-6)
		}, "✓ attn: all 2 values are within 1e-06 of the reference\n", -1},
		{"close tensor shape", func(g *Grader) {
			g.Close("attn", tensors.FromValue([]float32{0.25, 0.75}), [][]float64{{0.25, 0.75}}, 1e-6)
		}, "✗ attn: shape 2, want 1×2\n", 1},
		{"close any slice", func(g *Grader) { g.Close("v", []any{1, 2.5}, []float64{1, 2.5}, 0) },
			"✓ v: all 2 values are within 0 of the reference\n", -1},
		{"equal ints", func(g *Grader) { g.Equal("argmax", []int{3, 1}, []int64{3, 1}) }, "✓ argmax: all 2 values are equal to the reference\n", -1},
		{"equal ints off", func(g *Grader) { g.Equal("argmax", []int{3, 2}, []int{3, 1}) },
			"✗ argmax: element [1] is 2, want 1; 1 of 2 elements differ\n", 1},
		{"equal strings", func(g *Grader) { g.Equal("label", "cat", "dog") }, "✗ label: got \"cat\", want \"dog\"\n", 1},
		{"equal bool vs int", func(g *Grader) { g.Equal("b", true, 1) }, "✗ b: got true, want 1\n", 1},
		{"shape ok", func(g *Grader) { g.Shape("tokens", make([][]float32, 49), 49, 0) }, "✓ tokens: shape 49×0\n", -1},
		{"shape tensor", func(g *Grader) {
			g.Shape("tokens", tensors.FromShape(shapes.Make(dtypes.Float32, 2, 49, 16)), 2, 50, 16)
		},
			"✗ tokens: shape 2×49×16, want 2×50×16\n", 1},
		{"shape scalar", func(g *Grader) { g.Shape("n", 3, 2) }, "✗ n: shape scalar, want 2\n", 1},
		{"true", func(g *Grader) { g.True("drop", true, "unused") }, "✓ drop: as expected\n", -1},
		{"true off", func(g *Grader) { g.True("drop", false, "accuracy rose by %.1f points, want a drop", 2.5) },
			"✗ drop: accuracy rose by 2.5 points, want a drop\n", 1},
		{"run stub", func(g *Grader) { g.Run("patchify", func() { panic("not implemented") }) },
			"✗ patchify: not implemented: write your solution in the function's cell, run that cell, then this one\n", 1},
		{"run panic error", func(g *Grader) {
			g.Run("attention", func() { panic(errors.New("index out of range [5] with length 4\ngoroutine 1 [running]:")) })
		}, "✗ attention: panicked: index out of range [5] with length 4\n", 1},
		{"run runtime error", func(g *Grader) {
			g.Run("attention", func() {
				var s []int
				_ = s[len(os.Args)+2]
			})
		}, "✗ attention: panicked: runtime error: index out of range [", 1},
		{"run failing check inside", func(g *Grader) { g.Run("f", func() { g.Equal("f(2)", 5, 4) }) }, "✗ f(2): got 5, want 4\n", 1},
		{"run passes", func(g *Grader) { g.Run("f", func() { g.Equal("f(2)", 4, 4) }) }, "✓ f(2): the value is equal to the reference\n", -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, code := run(tt.check)
			if code != tt.code {
				t.Errorf("exit code %d, want %d (stdout %q, stderr %q)", code, tt.code, out, errOut)
			}
			got, other := out, errOut
			if tt.code != -1 {
				got, other = errOut, out
			}
			if !strings.HasPrefix(got, tt.want) || (!strings.HasSuffix(tt.want, "[") && got != tt.want) {
				t.Errorf("output %q, want %q", got, tt.want)
			}
			if other != "" {
				t.Errorf("unexpected output on the other stream: %q", other)
			}
			if strings.Count(got, "\n") > 2 || strings.Contains(got, "goroutine") {
				t.Errorf("more than two lines or a stack trace: %q", got)
			}
		})
	}
}

// TestCheckStopsCaller: after a failure nothing else of the cell runs (os.Exit in a notebook; errFailed here).
func TestCheckStopsCaller(t *testing.T) {
	reached := false
	_, _, code := run(func(g *Grader) {
		g.Close("x", 2, 1, 0)
		reached = true
	})
	if code != 1 || reached {
		t.Errorf("code %d, reached %v: want 1 and the caller stopped", code, reached)
	}
}

// TestExitInProcess runs a failing test cell as GoNB does, a program of its own, and checks its exit status and
// that its output has no stack trace.
func TestExitInProcess(t *testing.T) {
	if os.Getenv("GRADE_TEST_CHILD") == "1" {
		Run("patchify", func() { panic("not implemented") })
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestExitInProcess$")
	cmd.Env = append(os.Environ(), "GRADE_TEST_CHILD=1")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("child: %v, want exit status 1 (stderr %q)", err, stderr.String())
	}
	want := "✗ patchify: not implemented: write your solution in the function's cell, run that cell, then this one\n"
	if stderr.String() != want {
		t.Errorf("stderr %q, want %q", stderr.String(), want)
	}
	if strings.Contains(stdout.String()+stderr.String(), "goroutine") {
		t.Errorf("stack trace in the output: %q", stdout.String()+stderr.String())
	}
}
