package main

import (
	"encoding/json"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/vitnb/vitnb/vitnb/training"
)

func runFewShot(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("fewshot", "-dir RUNDIR -data NAME [-shots 1,5,10,25]", stderr)
	df := addDataFlags(fs, training.Data{}, 0)
	dir := fs.String("dir", "", "run folder of a vitnb training")
	shotsFlag := fs.String("shots", "1,5,10,25", "comma-separated numbers of examples per class")
	l2 := fs.Float64("l2", training.FewShotL2, "ridge penalty (big_vision's 2^10)")
	seeds := intFlag(fs, "seeds", 3, 1, 1000, "draws of the training examples to average over")
	pool := intFlag(fs, "pool", 5000, 0, math.MaxInt, "training examples whose representations are computed (drawn with seed 0; 0: all)")
	asJSON := fs.Bool("json", false, "print one JSON object")
	if _, err := parseArgs(fs, args, 0, ""); err != nil {
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
	if !(*l2 > 0) || math.IsInf(*l2, 0) {
		return usageErrorf("-l2 must be a positive number, got %g", *l2)
	}
	c, ds, _, err := openRun(*dir, df, stderr)
	if err != nil {
		return err
	}
	res, err := c.FewShot(ds, df.d.EvalSplit, *pool, shots, *l2, *seeds)
	if err != nil {
		return err
	}
	return printResult(stdout, res, *asJSON)
}

func runProbe(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("probe", "-dir RUNDIR -data NAME [-pool 0] [-epochs 30]", stderr)
	df := addDataFlags(fs, training.Data{}, 0)
	dir := fs.String("dir", "", "run folder of a vitnb training")
	pool := intFlag(fs, "pool", 0, 0, math.MaxInt, "training examples to fit on (drawn with seed 0; 0: all)")
	epochs := intFlag(fs, "epochs", 30, 1, 100000, "epochs of SGD for each fit")
	lr := fs.Float64("lr", 0.1, "peak learning rate (cosine schedule, momentum 0.9)")
	asJSON := fs.Bool("json", false, "print one JSON object")
	if _, err := parseArgs(fs, args, 0, ""); err != nil {
		return err
	}
	if !(*lr > 0) || *lr > 1e6 {
		return usageErrorf("-lr must be a positive number up to 1e6, got %g", *lr)
	}
	c, ds, _, err := openRun(*dir, df, stderr)
	if err != nil {
		return err
	}
	res, err := c.Probe(ds, df.d.EvalSplit, *pool, training.ProbeConfig{Epochs: *epochs, LearningRate: *lr})
	if err != nil {
		return err
	}
	return printResult(stdout, res, *asJSON)
}

// printResult prints the result of an analysis as one JSON object, or as its text.
func printResult(w io.Writer, res interface{ WriteText(io.Writer) error }, asJSON bool) error {
	if asJSON {
		return json.NewEncoder(w).Encode(res)
	}
	return res.WriteText(w)
}
