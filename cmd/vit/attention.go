package main

import (
	"fmt"
	"io"

	"github.com/vitnb/vitnb/datasets"
	"github.com/vitnb/vitnb/vitnb/classifier"
	"github.com/vitnb/vitnb/vitnb/training"
	"github.com/vitnb/vitnb/vitnb/viz"
)

func runAttention(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("attention", "-dir RUNDIR [-data NAME] [-n 8] -o attention.png", stderr)
	dir := fs.String("dir", "", "run folder of a vitnb training")
	data := fs.String("data", "fashion-mnist", "data set whose test images to show")
	n := intFlag(fs, "n", 8, 1, classifier.EvalBatch, "number of images")
	scale := intFlag(fs, "scale", 4, 1, 64, "pixel zoom of the picture")
	out := fs.String("o", "attention.png", "PNG file to write")
	if _, err := parseArgs(fs, args, 0, ""); err != nil {
		return err
	}
	c, ds, _, err := openRun(*dir, &dataFlags{d: training.Data{Dataset: *data, Holdout: -1}}, stderr)
	if err != nil {
		return err
	}
	pic, shown, correct, err := c.AttentionPicture(ds, datasets.SplitTest, *n, *scale)
	if err != nil {
		return err
	}
	if err := viz.SavePNG(*out, pic); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: attention rollout of %d %s test images (%d classified right) written to %s\n",
		c.Config.Name, shown, ds.Name, correct, *out)
	return nil
}
