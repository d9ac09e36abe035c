package main

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/vitnb/vitnb/datasets"
	"github.com/vitnb/vitnb/vitnb/training"
)

func init() {
	commands["fewshot"] = command{
		summary: "the paper's few-shot linear evaluation of a trained ViT's frozen representation (1/5/10/25 shots)",
		run:     runFewShot,
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
	cfg, err := training.ReadModelConfig(*dir)
	if err != nil {
		return err
	}
	ds, err := df.load()
	if err != nil {
		return err
	}
	trainSrc, err := ds.Split(datasets.SplitTrain)
	if err != nil {
		return err
	}
	if *pool > 0 && *pool < trainSrc.Len() {
		trainSrc = randomSubset(trainSrc, *pool, 0)
	}
	ecfg := datasets.EvalConfig(df.batch, cfg.ImageSize)
	ecfg.Channels, ecfg.Workers = cfg.Channels, df.workers
	trainData, err := datasets.NewPipeline(trainSrc, ecfg)
	if err != nil {
		return err
	}
	testData, err := evalPipeline(ds, df, cfg)
	if err != nil {
		return err
	}
	b, store, err := openRun(*dir, stderr)
	if err != nil {
		return err
	}
	trainF, err := training.Representations(b, store, cfg, trainData)
	if err != nil {
		return err
	}
	testF, err := training.Representations(b, store, cfg, testData)
	if err != nil {
		return err
	}
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
