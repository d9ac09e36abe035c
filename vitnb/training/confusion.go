package training

import (
	"cmp"
	"fmt"
	"io"
	"iter"
	"slices"
	"strings"
)

// DenseConfusionMax is the most classes whose confusion matrix Metrics holds dense, as Confusion: 1,000, ImageNet-1k's
// (8 MB in memory, about 12 MB of results file). Above it, Metrics holds only the non-zero cells (ConfusionCells),
// so that memory and the results file grow with the examples evaluated, not with the square of the classes: 10,000
// classes dense were 800 MB in memory and a 1.1 GB results file.
const DenseConfusionMax = 1000

// confusionCounter counts (true, predicted) pairs during an evaluation: a dense matrix for at most
// DenseConfusionMax classes, a map of the non-zero cells above (at most one entry per example).
type confusionCounter struct {
	classes int
	dense   [][]int
	sparse  map[int]int // true*classes+predicted -> count
}

func newConfusionCounter(classes int) *confusionCounter {
	c := &confusionCounter{classes: classes}
	if classes <= DenseConfusionMax {
		c.dense = make([][]int, classes)
		for i := range c.dense {
			c.dense[i] = make([]int, classes)
		}
	} else {
		c.sparse = map[int]int{}
	}
	return c
}

func (c *confusionCounter) add(truth, predicted int) {
	if c.dense != nil {
		c.dense[truth][predicted]++
	} else {
		c.sparse[truth*c.classes+predicted]++
	}
}

// fill sets m's confusion matrix (dense or sparse by the number of classes) and per-class accuracy, and returns the
// number of correct predictions.
func (c *confusionCounter) fill(m *Metrics) (hits int) {
	if c.dense != nil {
		m.Confusion = c.dense
	} else {
		keys := make([]int, 0, len(c.sparse))
		for k := range c.sparse {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		m.ConfusionCells = make([][3]int, len(keys))
		for i, k := range keys {
			m.ConfusionCells[i] = [3]int{k / c.classes, k % c.classes, c.sparse[k]}
		}
	}
	m.PerClass = make([]float64, c.classes)
	totals := make([]int, c.classes)
	for cell := range m.Cells() {
		totals[cell[0]] += cell[2]
		if cell[0] == cell[1] {
			hits += cell[2]
			m.PerClass[cell[0]] = float64(cell[2]) // divided by the total below
		}
	}
	for i, total := range totals {
		if total > 0 {
			m.PerClass[i] /= float64(total)
		}
	}
	return hits
}

// Classes is the number of classes of the metrics: the length of PerClass (of Confusion for metrics without it).
func (m *Metrics) Classes() int { return max(len(m.PerClass), len(m.Confusion)) }

// Cells yields the non-zero cells of the confusion matrix as [true, predicted, count], ordered by true then
// predicted class, from either form (Confusion or ConfusionCells).
func (m *Metrics) Cells() iter.Seq[[3]int] {
	return func(yield func([3]int) bool) {
		if m.Confusion == nil {
			for _, cell := range m.ConfusionCells {
				if !yield(cell) {
					return
				}
			}
			return
		}
		for t, row := range m.Confusion {
			for p, n := range row {
				if n != 0 && !yield([3]int{t, p, n}) {
					return
				}
			}
		}
	}
}

// Count returns how many examples of class truth the model took for class predicted, from either form.
func (m *Metrics) Count(truth, predicted int) int {
	if m.Confusion != nil {
		return m.Confusion[truth][predicted]
	}
	i, found := slices.BinarySearchFunc(m.ConfusionCells, [2]int{truth, predicted}, func(cell [3]int, key [2]int) int {
		return cmp.Or(cmp.Compare(cell[0], key[0]), cmp.Compare(cell[1], key[1]))
	})
	if !found {
		return 0
	}
	return m.ConfusionCells[i][2]
}

// ConfusionView returns a confusion matrix small enough to show (viz.ConfusionMatrix, viz.ConfusionHTML) with the
// names of its rows: with at most k classes, the whole matrix and names; with more, the k classes with the most
// errors (examples of the class taken for another, and of another taken for it), in class order, and a last row
// and column "other" that gather the remaining classes, so that each shown row still holds all the examples of its
// class (its accuracy is right). Missing names are class numbers.
func (m *Metrics) ConfusionView(k int, names []string) (counts [][]int, labels []string) {
	n := m.Classes()
	name := func(c int) string {
		if c < len(names) {
			return names[c]
		}
		return fmt.Sprint(c)
	}
	index := make(map[int]int) // class -> row of the view
	if n <= k {
		for c := range n {
			index[c] = c
			labels = append(labels, name(c))
		}
	} else {
		errs := make(map[int]int)
		for cell := range m.Cells() {
			if cell[0] != cell[1] {
				errs[cell[0]] += cell[2]
				errs[cell[1]] += cell[2]
			}
		}
		worst := make([]int, 0, len(errs))
		for c := range errs {
			worst = append(worst, c)
		}
		slices.SortFunc(worst, func(a, b int) int { return cmp.Or(cmp.Compare(errs[b], errs[a]), cmp.Compare(a, b)) })
		for c := 0; len(worst) < k && c < n; c++ { // fewer classes with errors than k: fill with the first others
			if _, ok := errs[c]; !ok {
				worst = append(worst, c)
			}
		}
		shown := slices.Sorted(slices.Values(worst[:min(k, len(worst))]))
		for i, c := range shown {
			index[c] = i
			labels = append(labels, name(c))
		}
		labels = append(labels, fmt.Sprintf("other (%d classes)", n-len(shown)))
	}
	size := len(labels)
	counts = make([][]int, size)
	for i := range counts {
		counts[i] = make([]int, size)
	}
	at := func(c int) int {
		if i, ok := index[c]; ok {
			return i
		}
		return size - 1 // "other"
	}
	for cell := range m.Cells() {
		counts[at(cell[0])][at(cell[1])] += cell[2]
	}
	return counts, labels
}

// check tells what is wrong with metrics read from a file, if anything: a confusion matrix (either form) whose
// shape or classes disagree with the number of classes, negative counts, or cells out of order.
func (m *Metrics) check() error {
	n := m.Classes()
	if m.Examples < 0 {
		return fmt.Errorf("metrics: %d examples", m.Examples)
	}
	if m.Confusion != nil {
		if len(m.ConfusionCells) > 0 {
			return fmt.Errorf("metrics: both a dense confusion matrix and confusion cells")
		}
		if len(m.PerClass) > 0 && len(m.PerClass) != len(m.Confusion) {
			return fmt.Errorf("metrics: a confusion matrix of %d rows for %d classes", len(m.Confusion), len(m.PerClass))
		}
		for t, row := range m.Confusion {
			if len(row) != n {
				return fmt.Errorf("metrics: confusion row %d has %d counts, want %d", t, len(row), n)
			}
			for p, c := range row {
				if c < 0 {
					return fmt.Errorf("metrics: confusion count %d for class %d taken for %d", c, t, p)
				}
			}
		}
		return nil
	}
	for i, cell := range m.ConfusionCells {
		if cell[0] < 0 || cell[0] >= n || cell[1] < 0 || cell[1] >= n || cell[2] <= 0 {
			return fmt.Errorf("metrics: confusion cell %d is %v, want [true, predicted, count] with classes below %d and a positive count", i, cell, n)
		}
		if i > 0 {
			prev := m.ConfusionCells[i-1]
			if cell[0] < prev[0] || (cell[0] == prev[0] && cell[1] <= prev[1]) {
				return fmt.Errorf("metrics: confusion cell %d %v does not follow %v (ordered by true then predicted class, each once)", i, cell, prev)
			}
		}
	}
	return nil
}

// writeMostConfused writes one line with the (at most 5) most frequent mistakes: which class was taken for which,
// how often. Nothing when there is none.
func (m *Metrics) writeMostConfused(w io.Writer, className func(int) string) {
	const shown = 5
	var worst [][3]int // by count, then by true and predicted class
	for cell := range m.Cells() {
		if cell[0] == cell[1] {
			continue
		}
		i, _ := slices.BinarySearchFunc(worst, cell, func(a, b [3]int) int { return cmp.Compare(b[2], a[2]) })
		for i < len(worst) && worst[i][2] == cell[2] {
			i++ // equal counts keep the order of the cells
		}
		if i < shown {
			worst = slices.Insert(worst, i, cell)[:min(len(worst)+1, shown)]
		}
	}
	if len(worst) == 0 {
		return
	}
	parts := make([]string, len(worst))
	for i, c := range worst {
		times := fmt.Sprintf("%d times", c[2])
		if c[2] == 1 {
			times = "once"
		}
		parts[i] = fmt.Sprintf("%s taken for %s %s", className(c[0]), className(c[1]), times)
	}
	fmt.Fprintf(w, "%d classes (per-class accuracy and confusion matrix in the results file); most confused: %s\n",
		m.Classes(), strings.Join(parts, ", "))
}
