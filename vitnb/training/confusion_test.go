package training

import (
	"bytes"
	"fmt"
	"iter"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/train"

	"github.com/vitnb/vitnb/vitnb/files"
)

// oracle is a Net of n classes whose logits are its input: the data set decides every prediction.
type oracle struct{ n int }

func (o oracle) Validate() error                           { return nil }
func (o oracle) Classes() int                              { return o.n }
func (o oracle) Logits(_ *model.Scope, images *Node) *Node { return Reshape(images, -1, o.n) }
func (o oracle) Config() any                               { return nil }

// oracleData yields examples of n classes for an oracle: example i is of class i%n, predicted right except every
// 7th, which is predicted (7*class+3)%n.
type oracleData struct{ n, examples, batch int }

func (d oracleData) Name() string { return "oracle" }

func (d oracleData) predicted(i int) (truth, predicted int) {
	truth = i % d.n
	if i%7 == 0 {
		return truth, (7*truth + 3) % d.n
	}
	return truth, truth
}

func (d oracleData) Iter() iter.Seq2[train.Batch, error] {
	return func(yield func(train.Batch, error) bool) {
		for start := 0; start < d.examples; start += d.batch {
			b := min(d.batch, d.examples-start)
			logits, labels := make([]float32, b*d.n), make([]int32, b)
			for i := range b {
				truth, p := d.predicted(start + i)
				labels[i], logits[i*d.n+p] = int32(truth), 1
			}
			if !yield(train.Batch{Inputs: []*tensors.Tensor{tensors.FromFlatDataAndDimensions(logits, b, 1, d.n, 1)},
				Labels: []*tensors.Tensor{tensors.FromFlatDataAndDimensions(labels, b)}}, nil) {
				return
			}
		}
	}
}

// counts is what the confusion matrix of d must hold: (true, predicted) -> examples.
func (d oracleData) counts() map[[2]int]int {
	want := map[[2]int]int{}
	for i := range d.examples {
		truth, p := d.predicted(i)
		want[[2]int{truth, p}]++
	}
	return want
}

// heapAfterGC is the live heap after a garbage collection.
func heapAfterGC() uint64 {
	runtime.GC()
	var s runtime.MemStats
	runtime.ReadMemStats(&s)
	return s.HeapAlloc
}

// An evaluation of 10,000 classes keeps its confusion matrix sparse: what it holds after the evaluation and what
// writing and reading its results file allocate are a few MB (dense: 800 MB held, a 1.1 GB file written at a
// 5.8 GB peak), the file is under 2 MB, and reading it back gives the same counts.
func TestConfusionOfManyClasses(t *testing.T) {
	const classes = 10000
	data := oracleData{n: classes, examples: 2000, batch: 100}
	b := testBackend(t)
	before := heapAfterGC()
	m, err := EvaluateNet(b, model.NewStore(), oracle{classes}, data)
	if err != nil {
		t.Fatal(err)
	}
	if after := heapAfterGC(); after-min(before, after) > 16<<20 {
		held := after - min(before, after)
		t.Errorf("the metrics of a %d-class evaluation hold %s, want under 16 MB", classes, files.FormatBytes(float64(held)))
	}
	if m.Confusion != nil || len(m.ConfusionCells) == 0 || len(m.PerClass) != classes {
		t.Fatalf("%d classes: dense rows %d, cells %d, per-class %d; want only cells and %d per-class accuracies",
			classes, len(m.Confusion), len(m.ConfusionCells), len(m.PerClass), classes)
	}
	want := data.counts()
	check := func(what string, m *Metrics) {
		t.Helper()
		got := map[[2]int]int{}
		for cell := range m.Cells() {
			got[[2]int{cell[0], cell[1]}] = cell[2]
		}
		if len(got) != len(want) {
			t.Fatalf("%s: %d non-zero cells, want %d", what, len(got), len(want))
		}
		for k, n := range want {
			if got[k] != n || m.Count(k[0], k[1]) != n {
				t.Fatalf("%s: class %d taken for %d: %d (Count %d), want %d", what, k[0], k[1], got[k], m.Count(k[0], k[1]), n)
			}
		}
		if n := m.Count(1, 2); n != 0 {
			t.Fatalf("%s: Count of an empty cell is %d", what, n)
		}
		// Class 7 has examples 7 (wrong: taken for 52) and 10007 (none: 2000 examples); class 1 has one, right.
		if m.PerClass[7] != 0 || m.PerClass[1] != 1 || m.Top1 != float64(2000-2000/7-1)/2000 {
			t.Fatalf("%s: per-class accuracy of class 7 %g and 1 %g, top-1 %g", what, m.PerClass[7], m.PerClass[1], m.Top1)
		}
	}
	check("evaluated", m)

	path := filepath.Join(t.TempDir(), ResultsFile)
	var s0, s1 runtime.MemStats
	runtime.ReadMemStats(&s0)
	if err := WriteResults(path, &Results{Command: "eval", Metrics: m}); err != nil {
		t.Fatal(err)
	}
	r, err := ReadResults(path)
	if err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&s1)
	if alloc := s1.TotalAlloc - s0.TotalAlloc; alloc > 32<<20 {
		t.Errorf("writing and reading the results of %d classes allocated %s, want under 32 MB", classes, files.FormatBytes(float64(alloc)))
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Size() > 2<<20 {
		t.Errorf("the results file of %d classes and %d examples is %s, want under 2 MB", classes, data.examples, files.FormatBytes(float64(info.Size())))
	}
	check("read back", r.Metrics)
}

// metricsV1 is Metrics as results files held it before the sparse form: a 10-class file must stay byte for byte.
type metricsV1 struct {
	Examples  int       `json:"examples"`
	Loss      float64   `json:"loss"`
	Top1      float64   `json:"top1"`
	Top5      float64   `json:"top5"`
	PerClass  []float64 `json:"per_class"`
	Confusion [][]int   `json:"confusion"`
}

// A 10-class evaluation writes the confusion matrix dense, as before, and an older file reads back.
func TestConfusionOfFewClassesIsDense(t *testing.T) {
	data := oracleData{n: 10, examples: 200, batch: 50}
	m, err := EvaluateNet(testBackend(t), model.NewStore(), oracle{10}, data)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Confusion) != 10 || m.ConfusionCells != nil {
		t.Fatalf("10 classes: %d dense rows and %d cells, want 10 rows and no cells", len(m.Confusion), len(m.ConfusionCells))
	}
	for k, n := range data.counts() {
		if m.Confusion[k[0]][k[1]] != n {
			t.Fatalf("class %d taken for %d: %d, want %d", k[0], k[1], m.Confusion[k[0]][k[1]], n)
		}
	}
	dir := t.TempDir()
	now, old := filepath.Join(dir, "now.json"), filepath.Join(dir, "old.json")
	if err := files.WriteJSON(now, m); err != nil {
		t.Fatal(err)
	}
	if err := files.WriteJSON(old, metricsV1{m.Examples, m.Loss, m.Top1, m.Top5, m.PerClass, m.Confusion}); err != nil {
		t.Fatal(err)
	}
	a, _ := os.ReadFile(now)
	b, _ := os.ReadFile(old)
	if !bytes.Equal(a, b) {
		t.Fatalf("the metrics of 10 classes changed format:\n%s\nwant\n%s", a, b)
	}
}

// ReadResults refuses a confusion matrix that its readers could not index, in one line naming the file.
func TestReadResultsChecksConfusion(t *testing.T) {
	dir := t.TempDir()
	for name, metrics := range map[string]string{
		"ragged":       `{"per_class": [1, 1], "confusion": [[1, 0], [1]]}`,
		"rows":         `{"per_class": [1, 1, 1], "confusion": [[1, 0], [0, 1]]}`,
		"negative":     `{"per_class": [1, 1], "confusion": [[1, -1], [0, 1]]}`,
		"both":         `{"per_class": [1, 1], "confusion": [[1, 0], [0, 1]], "confusion_cells": [[0, 0, 1]]}`,
		"out-of-range": `{"per_class": [1, 1], "confusion_cells": [[0, 0, 1], [2, 0, 1]]}`,
		"zero":         `{"per_class": [1, 1], "confusion_cells": [[0, 0, 0]]}`,
		"order":        `{"per_class": [1, 1], "confusion_cells": [[1, 1, 1], [0, 0, 1]]}`,
		"repeated":     `{"per_class": [1, 1], "confusion_cells": [[0, 0, 1], [0, 0, 1]]}`,
		"no-classes":   `{"confusion_cells": [[0, 0, 1]]}`,
	} {
		path := filepath.Join(dir, name+".json")
		if err := os.WriteFile(path, []byte(`{"command": "eval", "metrics": `+metrics+`}`), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := ReadResults(path)
		if err == nil || !strings.Contains(err.Error(), path) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: got %v, want one line naming %s", name, err, path)
		}
	}
	path := filepath.Join(dir, "sparse.json")
	if err := os.WriteFile(path, []byte(`{"command": "eval", "metrics": {"examples": 3, "per_class": [0.5, 1, 0],
		"confusion_cells": [[0, 0, 1], [0, 2, 1], [1, 1, 1]]}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := ReadResults(path)
	if err != nil {
		t.Fatal(err)
	}
	if r.Metrics.Count(0, 2) != 1 || r.Metrics.Count(2, 0) != 0 || r.Metrics.Classes() != 3 {
		t.Errorf("sparse cells read as Count(0,2)=%d Count(2,0)=%d of %d classes", r.Metrics.Count(0, 2), r.Metrics.Count(2, 0), r.Metrics.Classes())
	}
}

// ConfusionView gives the whole matrix of few classes, and of many the most confused ones and "other", each row
// keeping all its class's examples; both forms give the same view.
func TestConfusionView(t *testing.T) {
	dense := &Metrics{PerClass: make([]float64, 5), Confusion: [][]int{
		{5, 0, 0, 0, 1},
		{0, 4, 0, 0, 0},
		{0, 3, 2, 0, 0},
		{0, 0, 0, 6, 0},
		{2, 0, 0, 0, 7},
	}}
	sparse := &Metrics{PerClass: make([]float64, 5)}
	for cell := range dense.Cells() {
		sparse.ConfusionCells = append(sparse.ConfusionCells, cell)
	}
	names := []string{"a", "b", "c", "d"} // class 4 has no name
	for form, m := range map[string]*Metrics{"dense": dense, "sparse": sparse} {
		counts, labels := m.ConfusionView(5, names)
		if !slices.Equal(labels, []string{"a", "b", "c", "d", "4"}) || !slices.EqualFunc(counts, dense.Confusion, slices.Equal) {
			t.Errorf("%s, 5 classes shown: %v %v, want the whole matrix", form, labels, counts)
		}
		// Errors: a 3 (0->4, 4->0), b 3 (2->1), c 3, d 0, class 4 3: the 2 most are a and b (ties by class).
		counts, labels = m.ConfusionView(2, names)
		want := [][]int{{5, 0, 1}, {0, 4, 0}, {2, 3, 15}}
		if !slices.Equal(labels, []string{"a", "b", "other (3 classes)"}) || !slices.EqualFunc(counts, want, slices.Equal) {
			t.Errorf("%s, 2 classes shown: %v %v, want %v", form, labels, counts, want)
		}
	}
}

// WriteTable prints the rows of few classes from either form, and for many classes one line of the most confused.
func TestWriteTableForms(t *testing.T) {
	name := func(c int) string { return fmt.Sprint("k", c) }
	dense := &Metrics{Examples: 4, PerClass: []float64{1, 0.5}, Confusion: [][]int{{2, 0}, {1, 1}}}
	sparse := &Metrics{Examples: 4, PerClass: []float64{1, 0.5}, ConfusionCells: [][3]int{{0, 0, 2}, {1, 0, 1}, {1, 1, 1}}}
	var a, b bytes.Buffer
	dense.WriteTable(&a, "d", name)
	sparse.WriteTable(&b, "d", name)
	if a.String() != b.String() || !strings.Contains(a.String(), "k1    50.0% 1 1") {
		t.Errorf("the same counts printed differently:\n%s\n%s", a.String(), b.String())
	}
	many := &Metrics{Examples: 30, PerClass: make([]float64, 10000)}
	for c := range 10 {
		many.ConfusionCells = append(many.ConfusionCells, [3]int{c, c, 1}, [3]int{c, 9000 + c, max(c-3, 1)})
	}
	var out bytes.Buffer
	many.WriteTable(&out, "many", name)
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	want := "10000 classes (per-class accuracy and confusion matrix in the results file); most confused: k9 taken for k9009 6 times, " +
		"k8 taken for k9008 5 times, k7 taken for k9007 4 times, k6 taken for k9006 3 times, k5 taken for k9005 2 times"
	if len(lines) != 2 || lines[1] != want {
		t.Errorf("10,000 classes printed as:\n%s\nwant a summary line and\n%s", out.String(), want)
	}
	once := &Metrics{Examples: 2, PerClass: make([]float64, 30), ConfusionCells: [][3]int{{3, 3, 1}, {4, 5, 1}}}
	out.Reset()
	once.WriteTable(&out, "once", name)
	if !strings.HasSuffix(out.String(), "most confused: k4 taken for k5 once\n") {
		t.Errorf("one mistake of 30 classes printed as:\n%s", out.String())
	}
}
