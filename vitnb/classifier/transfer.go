package classifier

import (
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/vitnb/vitnb/datasets"
	"github.com/vitnb/vitnb/vitnb/training"
)

// FewShotResult is a few-shot linear evaluation of a classifier's frozen representations (`vit fewshot -json`
// prints it).
type FewShotResult struct {
	// Accuracy is the top-1 accuracy by number of examples per class, the mean over Seeds draws.
	Accuracy map[int]float64 `json:"accuracy_by_shots"`
	// Data and Split name the data set and the split measured on.
	Data string `json:"data"`
	// L2 is the ridge penalty.
	L2 float64 `json:"l2"`
	// Pool is the number of training examples the shots were drawn from.
	Pool  int    `json:"pool"`
	Seeds int    `json:"seeds"`
	Split string `json:"split"`
	// Model names the model; TestImages counts the images of Split.
	Model      string `json:"-"`
	TestImages int    `json:"-"`
}

// WriteText writes one line per number of shots.
func (r *FewShotResult) WriteText(w io.Writer) error {
	if w == nil {
		return errors.New("writing few-shot results: no writer (nil)")
	}
	if r == nil {
		return errors.New("writing few-shot results: no results (nil)")
	}
	var b strings.Builder
	shots := make([]int, 0, len(r.Accuracy))
	for k := range r.Accuracy {
		shots = append(shots, k)
	}
	sort.Ints(shots)
	for _, k := range shots {
		fmt.Fprintf(&b, "%s %d-shot linear: %.2f%% (%s/%s, %d test images, mean of %d draws)\n", r.Model, k,
			100*r.Accuracy[k], r.Data, r.Split, r.TestImages, r.Seeds)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// FewShot is the paper's few-shot linear evaluation (training.FewShot) of the classifier's frozen representations:
// the shots are drawn from pool training images of ds (drawn with seed 0; 0: all), the accuracy is measured on
// its split evalSplit. The data set need not be the one the model was trained on; l2 is the ridge penalty
// (training.FewShotL2 as the paper's code) and seeds the number of draws averaged.
func (c *Classifier) FewShot(ds *datasets.Dataset, evalSplit string, pool int, shots []int, l2 float64, seeds int) (*FewShotResult, error) {
	if err := training.CheckFewShot(shots, l2, seeds); err != nil { // before computing any representation
		return nil, err
	}
	tr, te, err := c.frozen(ds, evalSplit, pool)
	if err != nil {
		return nil, err
	}
	acc, err := training.FewShot(tr, te, len(ds.Classes), shots, l2, seeds)
	if err != nil {
		return nil, err
	}
	return &FewShotResult{Accuracy: acc, Data: ds.Name, L2: l2, Pool: len(tr.Labels), Seeds: seeds, Split: evalSplit,
		Model: c.Config.Name, TestImages: len(te.Labels)}, nil
}

// ProbeResult is a linear probe of a classifier's frozen representations (`vit probe -json` prints it).
type ProbeResult struct {
	Data  string                `json:"data"`
	Probe *training.ProbeResult `json:"probe"`
	Split string                `json:"split"`
	// TrainExamples is the number of training examples the probe was fit on.
	TrainExamples int    `json:"train_examples"`
	Model         string `json:"-"`
	TestImages    int    `json:"-"`
}

// WriteText writes the probe's result in one line.
func (r *ProbeResult) WriteText(w io.Writer) error {
	if w == nil {
		return errors.New("writing probe results: no writer (nil)")
	}
	if r == nil || r.Probe == nil {
		return errors.New("writing probe results: no results (nil)")
	}
	_, err := fmt.Fprintf(w, "%s linear probe: %.2f%% on %s/%s (%d test images); fit on %d training images, %.2f%% on them; "+
		"weight decay %g chosen on a 10%% hold-out\n", r.Model, 100*r.Probe.Accuracy, r.Data, r.Split, r.TestImages,
		r.TrainExamples, 100*r.Probe.TrainAccuracy, r.Probe.WeightDecay)
	return err
}

// Probe fits a linear classifier (training.LinearProbe) on the frozen representations of pool training images of
// ds (drawn with seed 0; 0: all) and measures it on its split evalSplit.
func (c *Classifier) Probe(ds *datasets.Dataset, evalSplit string, pool int, cfg training.ProbeConfig) (*ProbeResult, error) {
	tr, te, err := c.frozen(ds, evalSplit, pool)
	if err != nil {
		return nil, err
	}
	res, err := training.LinearProbe(tr, te, len(ds.Classes), cfg)
	if err != nil {
		return nil, err
	}
	return &ProbeResult{Data: ds.Name, Probe: res, Split: evalSplit, TrainExamples: len(tr.Labels), Model: c.Config.Name,
		TestImages: len(te.Labels)}, nil
}

// frozen computes the representations of pool training images of ds (drawn with seed 0; 0: all) and of its split
// evalSplit.
func (c *Classifier) frozen(ds *datasets.Dataset, evalSplit string, pool int) (tr, te *training.Features, err error) {
	if err := c.usable(); err != nil {
		return nil, nil, err
	}
	if ds == nil {
		return nil, nil, errNoDataset
	}
	if pool < 0 {
		return nil, nil, fmt.Errorf("the pool of training examples must not be negative, got %d", pool)
	}
	if tr, err = c.Features(ds, datasets.SplitTrain, 0, pool); err != nil {
		return nil, nil, err
	}
	if te, err = c.Features(ds, evalSplit, 0, 0); err != nil {
		return nil, nil, err
	}
	return tr, te, nil
}

// EvaluateSplit evaluates the classifier on a split of ds and returns the results of that evaluation (Command
// "eval"; From is the run folder, or the weights, the model came from; for a run, Checkpoint and Steps name the
// checkpoint evaluated), as `vit eval` writes them (EvalResultsFile).
func (c *Classifier) EvaluateSplit(ds *datasets.Dataset, split, backendName string) (*training.Results, error) {
	if err := c.usable(); err != nil {
		return nil, err
	}
	if ds == nil {
		return nil, errNoDataset
	}
	if err := c.labels(ds); err != nil {
		return nil, err
	}
	data, err := c.Split(ds, split, 0, 0, 0)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	m, err := c.Evaluate(data)
	if err != nil {
		return nil, err
	}
	if backendName == "" {
		backendName = c.Backend.Name()
	}
	res := &training.Results{Command: "eval", Model: c.Config, Data: ds.Name, EvalSplit: split, Backend: backendName,
		Devices: 1, WallSeconds: time.Since(start).Seconds(), Metrics: m, From: c.Source, Finished: time.Now()}
	if c.Run != nil {
		ck := c.Run.Checkpoint
		res.Checkpoint, res.Steps, res.CheckpointFallback = ck.Name, ck.Step, ck.Fallback
	}
	return res, nil
}

// labels tells whether the labels of ds are the classes of the model's head, as scoring predictions against them
// needs: as many classes, of the same names in the same order when the model's are known (datasets.SameClasses);
// another data set's labels would give a wrong score without a word.
func (c *Classifier) labels(ds *datasets.Dataset) error {
	if len(ds.Classes) != c.Config.NumClasses {
		return fmt.Errorf("the model has %d classes, %s has %d", c.Config.NumClasses, ds.Name, len(ds.Classes))
	}
	return datasets.SameClasses(c.Classes, ds)
}

// EvalResultsFile is where EvaluateSplit's results for data set data and split belong (training.EvalResultsFile):
// in the run folder, under a name of their own unless the checkpoint evaluated is the run's final one, so that an
// evaluation during training, or of an older checkpoint, does not replace the results of another checkpoint. A
// classifier that is not a run has none ("").
func (c *Classifier) EvalResultsFile(data, split string) string {
	if c == nil || c.Run == nil {
		return ""
	}
	step := c.Run.Checkpoint.Step
	if c.Finished() && c.Run.Results.Steps == step && c.Run.Checkpoint.Fallback == "" {
		step = 0 // the final checkpoint
	}
	return training.EvalResultsFile(c.Run.Dir, data, split, step)
}
