package main

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/vitnb/vitnb/vitnb"
	"github.com/vitnb/vitnb/vitnb/classifier"
	"github.com/vitnb/vitnb/vitnb/weights"
)

func init() {
	commands["predict"] = command{
		summary: "classify images with a ViT (random weights unless -weights: a file, a catalog name or hf:ORG/NAME)",
		run:     runPredict,
	}
}

// prediction is what `vit predict -json` prints for each image.
type prediction struct {
	Preset  string `json:"preset"`
	Weights string `json:"weights,omitempty"`
	Format  string `json:"format,omitempty"`
	Backend string `json:"backend"`
	classifier.Prediction
}

func runPredict(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("predict", "[-preset P | -weights W | -dir RUNDIR] -image FILE [more images] [-topk 5] [-json]", stderr)
	mf := addModelFlags(fs, true)
	weightsName := fs.String("weights", "", "pretrained weights: Google .npz, Hugging Face safetensors (config.json beside it), timm "+
		"safetensors, a catalog name or hf:ORG/NAME; the architecture and preprocessing come from them (-preset, -heads check or "+
		"complete it; -classes resets the head, -image-size resamples the position embeddings, -gelu overrides the format's GELU)")
	dir := fs.String("dir", "", "a vitnb run folder to predict with (its newest checkpoint)")
	posInterp := fs.String("pos-interp", "bilinear", "with -weights and another -image-size: position-embedding resampling, "+
		"bilinear (vit_jax) or bicubic (timm)")
	imagePath := fs.String("image", "", "image file to classify (JPEG, PNG, GIF, BMP, TIFF, WebP); more may follow the flags")
	topK := fs.Int("topk", 5, "number of best classes to print")
	asJSON := fs.Bool("json", false, "print one JSON object per image (logits, top classes) instead of a table")
	seed := fs.Int64("seed", 1, "seed of the random weights")
	if err := parseFlags(fs, interleave(fs, args)); err != nil {
		return err
	}
	images := fs.Args()
	if *imagePath != "" {
		images = append([]string{*imagePath}, images...)
	}
	if len(images) == 0 {
		return usageErrorf("-image FILE is required")
	}
	if *topK <= 0 {
		return usageErrorf("-topk must be positive, got %d", *topK)
	}
	if *weightsName != "" && *dir != "" {
		return usageErrorf("give -weights or -dir, not both")
	}
	var opts weights.Options
	var cfg vitnb.Config
	var err error
	if *weightsName != "" {
		if opts, err = mf.weightsOptions(*posInterp); err != nil {
			return err
		}
	} else if *dir == "" {
		if cfg, err = mf.config(); err != nil {
			return err
		}
		if cfg.NumClasses <= 0 {
			return usageErrorf("-classes must be positive to predict, got %d", cfg.NumClasses)
		}
	}
	b, backendName, err := newBackend(stderr)
	if err != nil {
		return err
	}
	var c *classifier.Classifier
	switch {
	case *weightsName != "":
		c, err = classifier.Load(b, *weightsName, opts)
	case *dir != "":
		c, err = classifier.Open(b, *dir)
	default:
		c, err = classifier.Random(b, cfg, *seed)
	}
	if err != nil {
		return err
	}
	for _, n := range c.Notes {
		fmt.Fprintln(stderr, n)
	}
	preds, err := c.PredictFiles(images, *topK)
	if err != nil {
		return err
	}
	for _, p := range preds {
		if *asJSON {
			if err := json.NewEncoder(stdout).Encode(prediction{Preset: c.Config.Name, Weights: c.Source,
				Format: c.Format, Backend: backendName, Prediction: p}); err != nil {
				return err
			}
			continue
		}
		fmt.Fprintf(stdout, "%s on %s (%s)\n", c, p.Image, backendName)
		for i, t := range p.Top {
			fmt.Fprintf(stdout, "%d. class %d %s  p=%.4f  logit=%.4f\n", i+1, t.Class, t.Label, t.Probability, t.Logit)
		}
	}
	return nil
}
