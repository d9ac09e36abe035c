package main

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/vitnb/vitnb/datasets"
	"github.com/vitnb/vitnb/vitnb/classifier"
	"github.com/vitnb/vitnb/vitnb/training"
)

func init() {
	commands["fewshot"] = command{
		summary: "the paper's few-shot linear evaluation of a trained ViT's frozen representation (1/5/10/25 shots)",
		run:     runFewShot,
	}
	commands["probe"] = command{
		summary: "linear probe: logistic regression on a trained ViT's frozen representation of the training set",
		run:     runProbe,
	}
}

func runFewShot(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("fewshot", "-dir RUNDIR -data NAME [-shots 1,5,10,25]", stderr)
	df := addDataFlags(fs, training.Data{}, 128)
	dir := fs.String("dir", "", "run folder of a vitnb training")
	shotsFlag := fs.String("shots", "1,5,10,25", "comma-separated numbers of examples per class")
	l2 := fs.Float64("l2", training.FewShotL2, "ridge penalty (big_vision's 2^10)")
	seeds := fs.Int("seeds", 3, "draws of the training examples to average over")
	pool := fs.Int("pool", 5000, "training examples whose representations are computed (drawn with seed 0; 0: all)")
	asJSON := fs.Bool("json", false, "print one JSON object")
	if err := parseFlags(fs, interleave(fs, args)); err != nil {
		return err
	}
	var shots []int
	for _, s := range strings.Split(*shotsFlag, ",") {
		k, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || k <= 0 {
			return usageErrorf("-shots %q: want positive integers separated by commas", *shotsFlag)
		}
		shots = append(shots, k)
	}
	if !(*l2 > 0) || *seeds <= 0 || *seeds > 1000 {
		return usageErrorf("-l2 must be positive and -seeds in [1, 1000]")
	}
	fr, err := frozenRepresentations(*dir, df, *pool, stderr)
	if err != nil {
		return err
	}
	acc, err := training.FewShot(fr.train, fr.test, len(fr.ds.Classes), shots, *l2, *seeds)
	if err != nil {
		return err
	}
	if *asJSON {
		out := map[string]float64{}
		for k, v := range acc {
			out[strconv.Itoa(k)] = v
		}
		return json.NewEncoder(stdout).Encode(map[string]any{"data": fr.ds.Name, "split": df.d.EvalSplit,
			"accuracy_by_shots": out, "l2": *l2, "seeds": *seeds, "pool": len(fr.train.Labels)})
	}
	sort.Ints(shots)
	for _, k := range shots {
		fmt.Fprintf(stdout, "%s %d-shot linear: %.2f%% (%s/%s, %d test images, mean of %d draws)\n", fr.c.Config.Name, k,
			100*acc[k], fr.ds.Name, df.d.EvalSplit, len(fr.test.Labels), *seeds)
	}
	return nil
}

func runProbe(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("probe", "-dir RUNDIR -data NAME [-pool 0] [-epochs 30]", stderr)
	df := addDataFlags(fs, training.Data{}, 128)
	dir := fs.String("dir", "", "run folder of a vitnb training")
	pool := fs.Int("pool", 0, "training examples to fit on (drawn with seed 0; 0: all)")
	epochs := fs.Int("epochs", 30, "epochs of SGD for each fit")
	lr := fs.Float64("lr", 0.1, "peak learning rate (cosine schedule, momentum 0.9)")
	asJSON := fs.Bool("json", false, "print one JSON object")
	if err := parseFlags(fs, interleave(fs, args)); err != nil {
		return err
	}
	if *epochs <= 0 || *epochs > 100000 || !(*lr > 0) || *lr > 1e6 {
		return usageErrorf("-epochs must be in [1, 100000] and -lr a positive number")
	}
	fr, err := frozenRepresentations(*dir, df, *pool, stderr)
	if err != nil {
		return err
	}
	res, err := training.LinearProbe(fr.train, fr.test, len(fr.ds.Classes), training.ProbeConfig{Epochs: *epochs, LearningRate: *lr})
	if err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(map[string]any{"data": fr.ds.Name, "split": df.d.EvalSplit,
			"train_examples": len(fr.train.Labels), "probe": res})
	}
	fmt.Fprintf(stdout, "%s linear probe: %.2f%% on %s/%s (%d test images); fit on %d training images, %.2f%% on them; weight decay %g chosen on a 10%% hold-out\n",
		fr.c.Config.Name, 100*res.Accuracy, fr.ds.Name, df.d.EvalSplit, len(fr.test.Labels), len(fr.train.Labels), 100*res.TrainAccuracy, res.WeightDecay)
	return nil
}

// frozen holds the representations of a trained model for a training pool and the evaluation split: the input
// of the few-shot evaluation and the linear probe.
type frozen struct {
	c           *classifier.Classifier
	ds          *datasets.Dataset
	train, test *training.Features
}

// frozenRepresentations computes the representations of pool training examples (drawn with seed 0; 0: all) and of
// the evaluation split of df, with the newest checkpoint of the run in dir. The data set need not be the model's.
func frozenRepresentations(dir string, df *dataFlags, pool int, stderr io.Writer) (*frozen, error) {
	if dir == "" {
		return nil, usageErrorf("-dir RUNDIR is required")
	}
	if pool < 0 {
		return nil, usageErrorf("-pool must not be negative, got %d", pool)
	}
	ds, err := df.load()
	if err != nil {
		return nil, err
	}
	b, _, err := newBackend(stderr)
	if err != nil {
		return nil, err
	}
	fr := &frozen{ds: ds}
	if fr.c, err = classifier.Open(b, dir); err != nil {
		return nil, err
	}
	if fr.train, err = fr.c.Features(ds, datasets.SplitTrain, 0, pool); err != nil {
		return nil, err
	}
	fr.test, err = fr.c.Features(ds, df.d.EvalSplit, 0, 0)
	return fr, err
}
