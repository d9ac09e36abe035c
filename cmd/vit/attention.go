package main

import (
	"fmt"
	"image"
	"image/png"
	"io"
	"slices"

	"github.com/vitnb/vitnb/datasets"
	"github.com/vitnb/vitnb/vitnb/classifier"
	"github.com/vitnb/vitnb/vitnb/explain"
	"github.com/vitnb/vitnb/vitnb/files"
	"github.com/vitnb/vitnb/vitnb/training"
	"github.com/vitnb/vitnb/vitnb/viz"
)

func init() {
	commands["attention"] = command{
		summary: "draw what a trained ViT looks at: attention rollout over test images (the paper's Fig. 6)",
		run:     runAttention,
	}
}

func runAttention(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("attention", "-dir RUNDIR [-data NAME] [-n 8] -o attention.png", stderr)
	dir := fs.String("dir", "", "run folder of a vitnb training")
	data := fs.String("data", "fashion-mnist", "data set whose test images to show")
	n := fs.Int("n", 8, "number of images")
	scale := fs.Int("scale", 4, "pixel zoom of the picture")
	out := fs.String("o", "attention.png", "PNG file to write")
	if err := parseFlags(fs, interleave(fs, args)); err != nil {
		return err
	}
	if *dir == "" {
		return usageErrorf("-dir RUNDIR is required")
	}
	if *n <= 0 || *n > classifier.EvalBatch || *scale <= 0 || *scale > 64 {
		return usageErrorf("-n must be in [1, %d] and -scale in [1, 64]", classifier.EvalBatch)
	}
	c, ds, _, err := openForData(*dir, &dataFlags{d: training.Data{Dataset: *data, Holdout: -1}, batch: *n}, stderr)
	if err != nil {
		return err
	}
	cfg := c.Config
	pipe, err := c.Split(ds, datasets.SplitTest, *n, 0, 0)
	if err != nil {
		return err
	}
	var batch *datasets.Batch
	for b, err := range pipe.Batches() {
		if err != nil {
			return err
		}
		batch = b
		break
	}
	e, err := c.Explainer()
	if err != nil {
		return err
	}
	ex, err := e.Explain(batch.Images, batch.N, nil)
	if err != nil {
		return err
	}
	logits := ex.Logits
	// Each image beside the image seen through its attention rollout (class token row, the paper's Fig. 6),
	// labelled "true / predicted".
	var pics []image.Image
	var labels []string
	per := cfg.ImageSize * cfg.ImageSize * cfg.Channels
	for i := range batch.N {
		x := slices.Clone(batch.Images[i*per : (i+1)*per])
		c.Preprocessing.Denormalize(x)
		img, err := viz.FromFloats(x, cfg.ImageSize, cfg.ImageSize, cfg.Channels, 0, 255)
		if err != nil {
			return err
		}
		masked, err := viz.Mask(img, ex.Maps[explain.MethodRollout][i], cfg.GridSize(), cfg.GridSize())
		if err != nil {
			return err
		}
		pics = append(pics, viz.HStack(1, img, masked))
		labels = append(labels, c.ClassName(int(batch.Labels[i]))+" / "+c.ClassName(ex.Classes[i]))
	}
	grid := viz.Grid(pics, labels, 4, *scale)
	if err := files.WriteAtomic(*out, func(w io.Writer) error { return png.Encode(w, grid) }); err != nil {
		return err
	}
	correct := 0
	for i := range batch.N {
		if training.Predicted(logits[i]) == int(batch.Labels[i]) {
			correct++
		}
	}
	fmt.Fprintf(stdout, "%s: attention rollout of %d %s test images (%d classified right) written to %s\n",
		cfg.Name, batch.N, ds.Name, correct, *out)
	return nil
}
