package main

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/vitnb/vitnb/datasets"
	"github.com/vitnb/vitnb/vitnb"
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
	df := addDataFlags(fs, datasets.SplitTest)
	dir := fs.String("dir", "", "run folder of a vitnb training")
	shotsFlag := fs.String("shots", "1,5,10,25", "comma-separated numbers of examples per class")
	l2 := fs.Float64("l2", training.FewShotL2, "ridge penalty (big_vision's 2^10)")
	seeds := fs.Int("seeds", 3, "draws of the training examples to average over")
	pool := fs.Int("pool", 5000, "training examples whose representations are computed (drawn with seed 0; 0: all)")
	asJSON := fs.Bool("json", false, "print one JSON object")
	if err := parseFlags(fs, interleave(fs, args)); err != nil {
		return err
	}
	if *dir == "" {
		return usageErrorf("-dir RUNDIR is required")
	}
	var shots []int
	for _, s := range strings.Split(*shotsFlag, ",") {
		k, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || k <= 0 {
			return usageErrorf("-shots %q: want positive integers separated by commas", *shotsFlag)
		}
		shots = append(shots, k)
	}
	if *l2 <= 0 || *seeds <= 0 {
		return usageErrorf("-l2 and -seeds must be positive")
	}
	fr, err := frozenRepresentations(*dir, df, *pool, stderr)
	if err != nil {
		return err
	}
	cfg, ds, trainF, testF := fr.cfg, fr.ds, fr.train, fr.test
	acc, err := training.FewShot(trainF, testF, len(ds.Classes), shots, *l2, *seeds)
	if err != nil {
		return err
	}
	if *asJSON {
		out := map[string]float64{}
		for k, v := range acc {
			out[strconv.Itoa(k)] = v
		}
		return json.NewEncoder(stdout).Encode(map[string]any{"data": ds.Name, "split": df.split, "accuracy_by_shots": out,
			"l2": *l2, "seeds": *seeds, "pool": len(trainF.Labels)})
	}
	sort.Ints(shots)
	for _, k := range shots {
		fmt.Fprintf(stdout, "%s %d-shot linear: %.2f%% (%s/%s, %d test images, mean of %d draws)\n", cfg.Name, k,
			100*acc[k], ds.Name, df.split, len(testF.Labels), *seeds)
	}
	return nil
}

func runProbe(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("probe", "-dir RUNDIR -data NAME [-pool 0] [-epochs 30]", stderr)
	df := addDataFlags(fs, datasets.SplitTest)
	dir := fs.String("dir", "", "run folder of a vitnb training")
	pool := fs.Int("pool", 0, "training examples to fit on (drawn with seed 0; 0: all)")
	epochs := fs.Int("epochs", 30, "epochs of SGD for each fit")
	lr := fs.Float64("lr", 0.1, "peak learning rate (cosine schedule, momentum 0.9)")
	asJSON := fs.Bool("json", false, "print one JSON object")
	if err := parseFlags(fs, interleave(fs, args)); err != nil {
		return err
	}
	if *dir == "" {
		return usageErrorf("-dir RUNDIR is required")
	}
	if *epochs <= 0 || *lr <= 0 || *pool < 0 {
		return usageErrorf("-epochs and -lr must be positive and -pool not negative")
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
		return json.NewEncoder(stdout).Encode(map[string]any{"data": fr.ds.Name, "split": df.split,
			"train_examples": len(fr.train.Labels), "probe": res})
	}
	fmt.Fprintf(stdout, "%s linear probe: %.2f%% on %s/%s (%d test images); fit on %d training images, %.2f%% on them; weight decay %g chosen on a 10%% hold-out\n",
		fr.cfg.Name, 100*res.Accuracy, fr.ds.Name, df.split, len(fr.test.Labels), len(fr.train.Labels), 100*res.TrainAccuracy, res.WeightDecay)
	return nil
}

// frozen holds the representations of a trained model (a run folder) for the training pool and the evaluation
// split: the input of the few-shot evaluation and the linear probe.
type frozen struct {
	cfg         vitnb.Config
	ds          *datasets.Dataset
	train, test *training.Features
}

// frozenRepresentations computes the representations of pool training examples (drawn with seed 0; 0: all) and of
// the evaluation split of df, with the newest checkpoint of the run in dir.
func frozenRepresentations(dir string, df *dataFlags, pool int, stderr io.Writer) (*frozen, error) {
	cfg, err := training.ReadModelConfig(dir)
	if err != nil {
		return nil, err
	}
	ds, err := df.load()
	if err != nil {
		return nil, err
	}
	trainSrc, err := ds.Split(datasets.SplitTrain)
	if err != nil {
		return nil, err
	}
	if pool > 0 && pool < trainSrc.Len() {
		trainSrc = datasets.RandomSubset(trainSrc, pool, 0)
	}
	ecfg := datasets.EvalConfig(df.batch, cfg.ImageSize)
	ecfg.Channels, ecfg.Workers = cfg.Channels, df.workers
	trainData, err := datasets.NewPipeline(trainSrc, ecfg)
	if err != nil {
		return nil, err
	}
	testData, err := evalPipeline(ds, df, cfg)
	if err != nil {
		return nil, err
	}
	b, store, err := openRun(dir, stderr)
	if err != nil {
		return nil, err
	}
	fr := &frozen{cfg: cfg, ds: ds}
	if fr.train, err = training.Representations(b, store, cfg, trainData); err != nil {
		return nil, err
	}
	if fr.test, err = training.Representations(b, store, cfg, testData); err != nil {
		return nil, err
	}
	return fr, nil
}
