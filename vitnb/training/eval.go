package training

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"text/tabwriter"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/train"

	"github.com/vitnb/vitnb/datasets"
	"github.com/vitnb/vitnb/vitnb"
)

// Metrics of a model on a data set.
type Metrics struct {
	Examples int     `json:"examples"`
	Loss     float64 `json:"loss"`
	Top1     float64 `json:"top1"`
	Top5     float64 `json:"top5"`
	// PerClass is the accuracy of each true class (NaN-free: 0 for classes without examples).
	PerClass []float64 `json:"per_class"`
	// Confusion[true][predicted] counts examples, for at most DenseConfusionMax classes (nil above: see
	// ConfusionCells). Count, Cells and ConfusionView read either form.
	Confusion [][]int `json:"confusion,omitempty"`
	// ConfusionCells lists the non-zero counts of the confusion matrix as [true, predicted, count], ordered by true
	// then predicted class, for more than DenseConfusionMax classes (instead of Confusion).
	ConfusionCells [][3]int `json:"confusion_cells,omitempty"`
	// Skipped counts the images of the data that could not be read and were left out (datasets.Config.SkipBad),
	// SkippedImages names the first few and why, EmptyClasses the classes left without any image by the skips.
	Skipped       int      `json:"skipped,omitempty"`
	SkippedImages []string `json:"skipped_images,omitempty"`
	EmptyClasses  []int32  `json:"empty_classes,omitempty"`
}

// skipReporter is evaluation data that leaves out the images it cannot read and says which (datasets.Pipeline).
type skipReporter interface{ SkipReport() datasets.SkipReport }

// Evaluate runs the model in store (inference mode: no dropout) over every batch of data and returns its loss
// (cross-entropy without smoothing), top-1 and top-5 accuracy, per-class accuracy and confusion matrix.
func Evaluate(b compute.Backend, store *model.Store, cfg vitnb.Config, data train.Dataset) (*Metrics, error) {
	exec, err := NewEvalExec(b, store, cfg)
	if err != nil {
		return nil, err
	}
	return EvaluateWith(exec, cfg.NumClasses, data)
}

// NewEvalExec compiles the evaluation graph of EvaluateWith for the ViT cfg (NewNetEvalExec).
func NewEvalExec(b compute.Backend, store *model.Store, cfg vitnb.Config) (*model.Exec, error) {
	return NewNetEvalExec(b, store, vitNet{cfg})
}

// EvaluateNet is Evaluate for any Net (the CNN baseline of package cnn, say).
func EvaluateNet(b compute.Backend, store *model.Store, net Net, data train.Dataset) (*Metrics, error) {
	exec, err := NewNetEvalExec(b, store, net)
	if err != nil {
		return nil, err
	}
	return EvaluateWith(exec, net.Classes(), data)
}

// NewNetEvalExec compiles the evaluation graph of EvaluateWith: images and labels in, float32 logits and the summed
// cross-entropy out. GoMLX compiles it once per input shape and keeps it (package classifier holds one per model).
func NewNetEvalExec(b compute.Backend, store *model.Store, net Net) (*model.Exec, error) {
	if err := checkExecArgs(b, store); err != nil {
		return nil, err
	}
	classes := net.Classes()
	var exec *model.Exec
	err := catch(func() {
		exec = model.MustNewExec(b, store, func(scope *model.Scope, images, labels *Node) []*Node {
			logits := ConvertDType(net.Logits(scope, images), dtypes.Float32) // float32 under mixed precision too
			perExample := Neg(ReduceSum(Mul(OneHot(Reshape(labels, -1), classes, logits.DType()), LogSoftmax(logits, -1)), -1))
			return []*Node{logits, ReduceAllSum(perExample)}
		})
	})
	return exec, err
}

// checkExecArgs tells what is missing to compile a graph of the model in store on b: GoMLX would panic (and log
// a stack trace) on a nil one.
func checkExecArgs(b compute.Backend, store *model.Store) error {
	switch {
	case b == nil:
		return errors.New("no backend (nil): use backend.New")
	case store == nil:
		return errNoStore
	}
	return nil
}

// errNoStore is the error of the functions given a nil store of variables.
var errNoStore = errors.New("no store of the model's variables (nil *model.Store)")

// EvaluateWith is Evaluate with an executable of NewEvalExec for a model of that many classes.
func EvaluateWith(exec *model.Exec, classes int, data train.Dataset) (*Metrics, error) {
	m := &Metrics{}
	confusion := newConfusionCounter(classes)
	top5 := 0
	lossSum := 0.0
	for batch, err := range data.Iter() {
		if err != nil {
			return nil, fmt.Errorf("reading evaluation data: %w", err)
		}
		if len(batch.Inputs) != 1 || len(batch.Labels) != 1 {
			return nil, fmt.Errorf("evaluation data must yield one image tensor and one label tensor per batch")
		}
		labels := tensors.MustCopyFlatData[int32](batch.Labels[0])
		var outs []*tensors.Tensor
		if err := catch(func() { outs = exec.MustCall(batch.Inputs[0], batch.Labels[0]) }); err != nil {
			return nil, fmt.Errorf("evaluating: %w", vitnb.PlainBackendError(err))
		}
		logits := tensors.MustCopyFlatData[float32](outs[0])
		lossSum += ScalarValue(outs[1])
		for i, label := range labels {
			if int(label) < 0 || int(label) >= classes {
				return nil, fmt.Errorf("label %d out of range for a %d-class head", label, classes)
			}
			row := logits[i*classes : (i+1)*classes]
			for _, l := range row {
				if math.IsNaN(float64(l)) || math.IsInf(float64(l), 0) {
					if v, ok := nonFiniteInput(batch.Inputs[0], i); ok {
						return nil, fmt.Errorf("example %d: the input holds %g: the data must be finite", m.Examples+i, v)
					}
					return nil, fmt.Errorf("example %d: the model gave a non-finite logit (%g): its weights hold NaN or infinite values", m.Examples+i, l)
				}
			}
			rank := rankOf(row, int(label))
			if rank < 5 {
				top5++
			}
			confusion.add(int(label), Predicted(row))
		}
		m.Examples += len(labels)
		for _, t := range append(outs, append(batch.Inputs, batch.Labels...)...) {
			_ = t.FinalizeAll()
		}
	}
	if r, ok := data.(skipReporter); ok {
		report := r.SkipReport()
		m.Skipped, m.SkippedImages, m.EmptyClasses = report.Count, report.First, report.EmptyClasses
		if m.Examples == 0 && report.Count > 0 {
			return nil, fmt.Errorf("no image of the evaluation data could be read: %s", report)
		}
	}
	if m.Examples == 0 {
		return nil, fmt.Errorf("the evaluation data set is empty")
	}
	hits := confusion.fill(m)
	m.Top1 = float64(hits) / float64(m.Examples)
	m.Top5 = float64(top5) / float64(m.Examples)
	m.Loss = lossSum / float64(m.Examples)
	return m, nil
}

// nonFiniteInput returns the first NaN or infinite value of example i of a batch of float32 images, if any: a
// non-finite logit is then the input's fault, not the weights'.
func nonFiniteInput(images *tensors.Tensor, i int) (float32, bool) {
	flat, err := tensors.CopyFlatData[float32](images)
	dims := images.Shape().Dimensions
	if err != nil || len(dims) == 0 || dims[0] <= i {
		return 0, false
	}
	per := len(flat) / dims[0]
	for _, v := range flat[i*per : (i+1)*per] {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return v, true
		}
	}
	return 0, false
}

// rankOf returns how many logits are strictly larger than row[class] (0 = top-1). Ties count in favour.
func rankOf(row []float32, class int) int {
	r := 0
	for _, v := range row {
		if v > row[class] {
			r++
		}
	}
	return r
}

// Predicted returns the class of a row of logits: the index of the largest (the first one on ties).
func Predicted[T float32 | float64](row []T) int {
	best := 0
	for i, v := range row {
		if v > row[best] {
			best = i
		}
	}
	return best
}

// WriteTable writes the metrics of data (e.g. "fashion-mnist/test") as `vit eval` prints them: accuracy and loss
// on one line, the images left out when some could not be read, then, for at most 20 classes, each class's
// accuracy and its row of the confusion matrix; for more, a line with the classes most often taken for another
// (the matrix is in the results file).
func (m *Metrics) WriteTable(w io.Writer, data string, className func(int) string) error {
	if m == nil {
		return errors.New("writing the metrics: no metrics (nil)")
	}
	if w == nil {
		return errors.New("writing the metrics: no writer (nil)")
	}
	if className == nil {
		className = func(c int) string { return fmt.Sprint(c) }
	}
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "%s: %d examples, top-1 %.2f%%, top-5 %.2f%%, loss %.4f\n", data, m.Examples, 100*m.Top1, 100*m.Top5, m.Loss)
	if m.Skipped > 0 {
		fmt.Fprintln(&buf, datasets.SkipReport{Count: m.Skipped, First: m.SkippedImages, EmptyClasses: m.EmptyClasses}.String()+": not counted above")
	}
	if m.Classes() > 20 {
		m.writeMostConfused(&buf, className)
	} else {
		tw := tabwriter.NewWriter(&buf, 0, 0, 1, ' ', tabwriter.AlignRight)
		fmt.Fprint(tw, "class\taccuracy\t")
		for i := range m.PerClass {
			fmt.Fprintf(tw, "%d\t", i)
		}
		fmt.Fprintln(tw)
		for c, acc := range m.PerClass {
			fmt.Fprintf(tw, "%s\t%.1f%%\t", className(c), 100*acc)
			for p := range m.PerClass {
				fmt.Fprintf(tw, "%d\t", m.Count(c, p))
			}
			fmt.Fprintln(tw)
		}
		_ = tw.Flush()
	}
	_, err := w.Write(buf.Bytes())
	return err
}
