package main

import (
	"io"

	"github.com/vitnb/vitnb/vitnb/backend"
	"github.com/vitnb/vitnb/vitnb/classifier"
)

func runPredict(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("predict", "[-preset P | -weights W | -dir RUNDIR] -image FILE [more images] [-topk 5] [-json]", stderr)
	mf := addModelFlags(fs, true)
	weightsName := fs.String("weights", "", "pretrained weights: Google .npz, Hugging Face safetensors (config.json beside it), timm "+
		"safetensors, a catalog name or hf:ORG/NAME; the architecture and preprocessing come from them (-preset, -heads check or "+
		"complete it; -classes resets the head, -image-size resamples the position embeddings, -gelu overrides the format's GELU)")
	dir := fs.String("dir", "", "a vitnb run folder to predict with (its newest checkpoint)")
	posInterp := fs.String("pos-interp", "bilinear", "with -weights and another -image-size: position-embedding resampling, "+
		"bilinear (vit_jax) or bicubic (timm)")
	var images []string
	fs.Func("image", "image file to classify (JPEG, PNG, GIF, BMP, TIFF, WebP); repeat it, or put more after the flags",
		func(s string) error { images = append(images, s); return nil })
	topK := intFlag(fs, "topk", 5, 1, 1000000, "number of best classes to print")
	asJSON := fs.Bool("json", false, "print one JSON object per image (logits, top classes) instead of a table")
	seed := fs.Int64("seed", 1, "seed of the random weights")
	batch := intFlag(fs, "batch", 0, 1, 1<<20, "images per batch (default: chosen from the model and the available memory)")
	if err := parseFlags(fs, interleave(fs, args)); err != nil {
		return err
	}
	if images = append(images, fs.Args()...); len(images) == 0 {
		return usageErrorf("-image FILE is required")
	}
	o := classifier.Origin{Weights: *weightsName, Dir: *dir, Seed: *seed, BatchSize: *batch}
	if err := o.Validate(); err != nil {
		return usageErrorf("%v", err)
	}
	var err error
	switch {
	case *weightsName != "":
		o.WeightsOptions, err = mf.weightsOptions(*posInterp)
	case *dir != "":
		err = mf.only("-dir") // the run's model
	default:
		o.Config, err = mf.config()
	}
	if err != nil {
		return err
	}
	b, choice, err := backend.Open(stderr)
	if err != nil {
		return err
	}
	c, err := classifier.FromOrigin(b, o)
	if err != nil {
		return err
	}
	preds, err := c.PredictFiles(images, *topK)
	c.WriteNotes(stderr) // an older checkpoint used, files of a folder left out
	if err != nil {
		return err
	}
	return c.WritePredictions(stdout, preds, choice.Config, *asJSON)
}
