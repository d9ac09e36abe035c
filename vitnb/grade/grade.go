// Package grade holds the checks that the graded test cells of the vitnb notebooks call (course assignments
// with nbgrader, notebooks/COURSE.md). A check prints one short line when the answer is right; when it is wrong,
// one or two lines that say what was expected and what came out (the shape, the first differing element with its
// index, the tolerance), and it ends the cell's program with exit status 1, without a Go stack trace: GoNB reports
// the exit as an error output, which is what nbgrader scores as a failed test cell (0 points).
//
// A student's function that is still the stub `panic("not implemented")` fails the same way when the test cell
// calls it through Run:
//
//	grade.Run("patchify", func() {
//		got := patchify(img, 4)
//		grade.Shape("patchify(img, 4)", got, 49, 16)
//		grade.Close("patchify(img, 4)", got, want, 1e-6)
//	})
//
// It is its own package, apart from package nb: a test cell needs nothing but it (no backend, no GoNB display), and
// the exit behaviour is in one small place that tests can drive (Grader).
package grade

import (
	"fmt"
	"io"
	"math"
	"os"
	"reflect"
	"slices"
	"strings"

	"github.com/gomlx/gomlx/core/tensors"
)

// NotImplemented is the message of the stub that nbgrader puts in place of a solution (notebooks/COURSE.md:
// `panic("not implemented")`); Run reports a panic with it as "not implemented".
const NotImplemented = "not implemented"

// Tol is the tolerance for a float32 result of a backend (XLA or the pure-Go one) checked against a reference
// computed in float64: the test cells use it unless their exercise says why another (TestTolOnBackend).
const Tol = 1e-4

// Grader reports the checks: Out receives the confirmations, Err the failures, and Exit ends the program after a
// failure. The package functions use Default; tests build their own.
type Grader struct {
	Out, Err io.Writer
	Exit     func(code int)
}

// Default is the Grader of the package functions: stdout, stderr and os.Exit.
var Default = &Grader{Out: os.Stdout, Err: os.Stderr, Exit: os.Exit}

// Close checks that got equals want within tol (see Grader.Close).
func Close(name string, got, want any, tol float64) { Default.Close(name, got, want, tol) }

// Equal checks that got equals want exactly (see Grader.Equal).
func Equal(name string, got, want any) { Default.Equal(name, got, want) }

// Shape checks the shape of got (see Grader.Shape).
func Shape(name string, got any, want ...int) { Default.Shape(name, got, want...) }

// True checks a condition that the other checks do not express (see Grader.True).
func True(name string, ok bool, format string, args ...any) { Default.True(name, ok, format, args...) }

// Run calls f and turns a panic into a one-line failure (see Grader.Run).
func Run(name string, f func()) { Default.Run(name, f) }

// Close checks that got and want have the same shape and that every element of got is within tol*(1+|want|) of
// want's (an absolute tolerance near zero, a relative one for large values); NaN matches only NaN. got and want
// are numbers, slices or arrays of them nested to any depth ([]float32, [][]float64, [3]int...), or
// *tensors.Tensor; their element types may differ.
func (g *Grader) Close(name string, got, want any, tol float64) {
	if msg, n := closeTo(got, want, tol); msg != "" {
		g.fail(name, msg)
	} else {
		g.pass(name, "%s within %g of the reference", count(n), tol)
	}
}

// Equal checks that got and want have the same shape and equal elements: numbers (compared as numbers, whatever
// their Go types), strings or booleans, alone or in (nested) slices, arrays or tensors.
func (g *Grader) Equal(name string, got, want any) {
	if msg, n := equal(got, want); msg != "" {
		g.fail(name, msg)
	} else {
		g.pass(name, "%s equal to the reference", count(n))
	}
}

// Shape checks that got (a nested slice or array, or a *tensors.Tensor) has the dimensions want.
func (g *Grader) Shape(name string, got any, want ...int) {
	v, err := flatten(got)
	switch {
	case err != nil:
		g.fail(name, err.Error())
	case !sameDims(v.dims, want):
		g.fail(name, fmt.Sprintf("shape %s, want %s", dimsString(v.dims), dimsString(want)))
	default:
		g.pass(name, "shape %s", dimsString(want))
	}
}

// True passes when ok holds; otherwise it fails with the message format and args.
func (g *Grader) True(name string, ok bool, format string, args ...any) {
	if ok {
		g.pass(name, "as expected")
	} else {
		g.fail(name, fmt.Sprintf(format, args...))
	}
}

// Run calls f, in which the test cell calls the student's function and checks the result. A panic in f fails
// with one line: "not implemented" for the stub, else the panic's message (its first line: no stack trace).
func (g *Grader) Run(name string, f func()) {
	failed := true
	defer func() {
		if !failed {
			return
		}
		r := recover()
		if r == errFailed { // a check in f failed and said so (only when Exit returns: tests)
			return
		}
		msg := fmt.Sprint(r)
		if err, ok := r.(error); ok {
			msg = err.Error()
		}
		if strings.Contains(msg, NotImplemented) {
			g.fail(name, NotImplemented+": write your solution in the function's cell, run that cell, then this one")
			return
		}
		first, _, _ := strings.Cut(strings.TrimSpace(msg), "\n")
		g.fail(name, "panicked: "+first)
	}()
	f()
	failed = false
}

func (g *Grader) pass(name, format string, args ...any) {
	fmt.Fprintf(g.Out, "✓ %s: %s\n", name, fmt.Sprintf(format, args...))
}

// fail prints the failure and exits; when Exit returns (a test's), it panics with errFailed so that the check's
// caller stops as it would have, and Run lets that through.
func (g *Grader) fail(name, msg string) {
	fmt.Fprintf(g.Err, "✗ %s: %s\n", name, msg)
	g.Exit(1)
	panic(errFailed)
}

// errFailed stops a check's caller after a failure when Grader.Exit returns (tests).
var errFailed = failedError{}

type failedError struct{}

func (failedError) Error() string { return "grade: check failed" }

func count(n int) string {
	if n == 1 {
		return "the value is"
	}
	return fmt.Sprintf("all %d values are", n)
}

// value is a flattened argument: its dimensions (none for a scalar) and elements in row-major order.
type value struct {
	dims  []int
	elems []reflect.Value
}

// flatten reads a scalar, a nested slice or array, or a tensor. Ragged slices are an error.
func flatten(x any) (value, error) {
	if t, ok := x.(*tensors.Tensor); ok {
		if t == nil {
			return value{}, fmt.Errorf("got a nil tensor")
		}
		var v value
		v.dims = append([]int{}, t.Shape().Dimensions...)
		err := t.ConstFlatData(func(flat any) {
			fv := reflect.ValueOf(flat)
			for i := range fv.Len() {
				v.elems = append(v.elems, fv.Index(i))
			}
		})
		if err != nil {
			return value{}, fmt.Errorf("reading the tensor: %w", err)
		}
		return v, nil
	}
	rv := reflect.ValueOf(x)
	if !rv.IsValid() {
		return value{}, fmt.Errorf("got nil")
	}
	var v value
	for rv = deref(rv); rv.Kind() == reflect.Slice || rv.Kind() == reflect.Array; rv = deref(rv.Index(0)) {
		v.dims = append(v.dims, rv.Len())
		if rv.Len() == 0 {
			return v, nil
		}
	}
	var walk func(rv reflect.Value, depth int) error
	walk = func(rv reflect.Value, depth int) error {
		rv = deref(rv)
		if depth == len(v.dims) {
			if k := rv.Kind(); k == reflect.Slice || k == reflect.Array || !rv.IsValid() {
				return fmt.Errorf("got a ragged value: not a %s array", dimsString(v.dims))
			}
			v.elems = append(v.elems, rv)
			return nil
		}
		if k := rv.Kind(); (k != reflect.Slice && k != reflect.Array) || rv.Len() != v.dims[depth] {
			return fmt.Errorf("got a ragged value: not a %s array", dimsString(v.dims))
		}
		for i := range rv.Len() {
			if err := walk(rv.Index(i), depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(reflect.ValueOf(x), 0); err != nil {
		return value{}, err
	}
	return v, nil
}

// deref returns the value inside an interface ([]any's elements).
func deref(rv reflect.Value) reflect.Value {
	for rv.Kind() == reflect.Interface {
		rv = rv.Elem()
	}
	return rv
}

// number returns an element as a float64.
func number(e reflect.Value) (float64, bool) {
	switch e.Kind() {
	case reflect.Float32, reflect.Float64:
		return e.Float(), true
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return float64(e.Int()), true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return float64(e.Uint()), true
	}
	if f, ok := e.Interface().(interface{ Float32() float32 }); ok { // float16, bfloat16 tensors
		return float64(f.Float32()), true
	}
	return 0, false
}

// both flattens got and want and compares their shapes; msg says what differs.
func both(got, want any) (g, w value, msg string) {
	w, err := flatten(want)
	if err != nil {
		return g, w, "the reference: " + err.Error() // the test cell's own mistake
	}
	if g, err = flatten(got); err != nil {
		return g, w, err.Error()
	}
	if !sameDims(g.dims, w.dims) {
		return g, w, fmt.Sprintf("shape %s, want %s", dimsString(g.dims), dimsString(w.dims))
	}
	return g, w, ""
}

func closeTo(got, want any, tol float64) (msg string, n int) {
	g, w, msg := both(got, want)
	if msg != "" {
		return msg, 0
	}
	first, differ := -1, 0
	var gf, wf float64
	for i := range w.elems {
		a, ok1 := number(g.elems[i])
		b, ok2 := number(w.elems[i])
		if !ok1 || !ok2 {
			return fmt.Sprintf("element %s: %v is not a number (want %v)", index(w.dims, i), g.elems[i], w.elems[i]), 0
		}
		if !(math.Abs(a-b) <= tol*(1+math.Abs(b)) || math.IsNaN(a) && math.IsNaN(b) || a == b) {
			if first < 0 {
				first, gf, wf = i, a, b
			}
			differ++
		}
	}
	if first < 0 {
		return "", len(w.elems)
	}
	msg = fmt.Sprintf("%s %.6g, want %.6g (tolerance %g)", elemName(w.dims, first), gf, wf, tol)
	return msg + ofTotal(differ, len(w.elems)), 0
}

func equal(got, want any) (msg string, n int) {
	g, w, msg := both(got, want)
	if msg != "" {
		return msg, 0
	}
	first, differ := -1, 0
	for i := range w.elems {
		if !sameElem(g.elems[i], w.elems[i]) {
			if first < 0 {
				first = i
			}
			differ++
		}
	}
	if first < 0 {
		return "", len(w.elems)
	}
	msg = fmt.Sprintf("%s %#v, want %#v", elemName(w.dims, first), g.elems[first].Interface(), w.elems[first].Interface())
	return msg + ofTotal(differ, len(w.elems)), 0
}

func sameElem(a, b reflect.Value) bool {
	x, ok1 := number(a)
	y, ok2 := number(b)
	if ok1 && ok2 {
		return x == y
	}
	if ok1 != ok2 || a.Kind() != b.Kind() {
		return false
	}
	return a.Comparable() && a.Equal(b)
}

func elemName(dims []int, i int) string {
	if len(dims) == 0 {
		return "got"
	}
	return "element " + index(dims, i) + " is"
}

func ofTotal(differ, total int) string {
	if total == 1 {
		return ""
	}
	return fmt.Sprintf("; %d of %d elements differ", differ, total)
}

// index turns a row-major flat index into [i j k].
func index(dims []int, flat int) string {
	idx := make([]int, len(dims))
	for d := len(dims) - 1; d >= 0; d-- {
		idx[d] = flat % dims[d]
		flat /= dims[d]
	}
	return fmt.Sprint(idx)
}

func sameDims(a, b []int) bool { return slices.Equal(a, b) }

// dimsString writes a shape as 49×16 ("scalar" for none).
func dimsString(d []int) string {
	if len(d) == 0 {
		return "scalar"
	}
	return strings.Trim(strings.ReplaceAll(fmt.Sprint(d), " ", "×"), "[]")
}
