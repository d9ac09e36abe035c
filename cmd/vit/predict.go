package main

import (
	"encoding/json"
	"fmt"
	"image"
	_ "image/gif" // Decoders for the image formats predict accepts.
	_ "image/jpeg"
	_ "image/png"
	"io"
	"math"
	"os"
	"sort"

	"github.com/gomlx/compute"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/support/exceptions"
	"golang.org/x/image/draw"

	"github.com/vitnb/vitnb/vitnb"
	"github.com/vitnb/vitnb/vitnb/backend"
)

func init() {
	commands["predict"] = command{
		summary: "classify one image with a ViT (random weights unless -weights is given)",
		run:     runPredict,
	}
}

// prediction is what `vit predict -json` prints.
type prediction struct {
	Preset  string      `json:"preset"`
	Backend string      `json:"backend"`
	Image   string      `json:"image"`
	Logits  []float32   `json:"logits"`
	Top     []classProb `json:"top"`
}

type classProb struct {
	Class       int     `json:"class"`
	Label       string  `json:"label,omitempty"`
	Logit       float32 `json:"logit"`
	Probability float64 `json:"probability"`
}

func runPredict(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("predict", "-preset P -image FILE.png [-topk 5] [-json]", stderr)
	mf := addModelFlags(fs, true)
	imagePath := fs.String("image", "", "image file to classify (PNG, JPEG or GIF)")
	topK := fs.Int("topk", 5, "number of best classes to print")
	asJSON := fs.Bool("json", false, "print one JSON object (logits, top classes) instead of a table")
	seed := fs.Int64("seed", 1, "seed of the random weights")
	if err := parseFlags(fs, interleave(fs, args)); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageErrorf("unexpected arguments %q", fs.Args())
	}
	if *imagePath == "" {
		return usageErrorf("-image FILE is required")
	}
	cfg, err := mf.config()
	if err != nil {
		return err
	}
	if cfg.NumClasses <= 0 {
		return usageErrorf("-classes must be positive to predict, got %d", cfg.NumClasses)
	}
	if *topK <= 0 {
		return usageErrorf("-topk must be positive, got %d", *topK)
	}
	img, err := loadImage(*imagePath, cfg)
	if err != nil {
		return err
	}

	b, choice, err := backend.New()
	if err != nil {
		return err
	}
	fmt.Fprintln(stderr, choice)
	store := model.NewStore()
	store.SetParam(model.ParamInitialSeed, *seed)
	logitsT, err := runLogits(b, store, cfg, img)
	if err != nil {
		return err
	}
	logits := tensors.MustCopyFlatData[float32](logitsT)

	p := prediction{Preset: cfg.Name, Backend: choice.Config, Image: *imagePath, Logits: logits, Top: topClasses(logits, *topK)}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		return enc.Encode(p)
	}
	fmt.Fprintf(stdout, "%s on %s (%s)\n", cfg.Name, *imagePath, choice.Config)
	for i, c := range p.Top {
		fmt.Fprintf(stdout, "%d. class %d %s  p=%.4f  logit=%.4f\n", i+1, c.Class, c.Label, c.Probability, c.Logit)
	}
	return nil
}

// runLogits runs the model on a batch of images and returns the logits, turning graph-building panics into
// errors.
func runLogits(b compute.Backend, store *model.Store, cfg vitnb.Config, images *tensors.Tensor) (*tensors.Tensor, error) {
	var out *tensors.Tensor
	err := exceptions.TryCatch[error](func() {
		exec := model.MustNewExec1(b, store, func(scope *model.Scope, x *graph.Node) *graph.Node {
			return vitnb.Logits(scope, cfg, x)
		})
		out = exec.MustCall1(images)
	})
	if err != nil {
		return nil, fmt.Errorf("running %s: %w", cfg.Name, err)
	}
	return out, nil
}

// topClasses returns the k classes with the highest logits, with softmax probabilities.
func topClasses(logits []float32, k int) []classProb {
	maxLogit := math.Inf(-1)
	for _, l := range logits {
		maxLogit = math.Max(maxLogit, float64(l))
	}
	total := 0.0
	for _, l := range logits {
		total += math.Exp(float64(l) - maxLogit)
	}
	idx := make([]int, len(logits))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return logits[idx[a]] > logits[idx[b]] })
	if k > len(idx) {
		k = len(idx)
	}
	top := make([]classProb, k)
	for i, c := range idx[:k] {
		top[i] = classProb{Class: c, Logit: logits[c], Probability: math.Exp(float64(logits[c])-maxLogit) / total}
	}
	return top
}

// loadImage decodes an image file, resizes it to the model's resolution (bilinear, aspect ratio not kept, as
// the paper's evaluation at a fixed resolution) and scales it to [-1, 1] as (x-127.5)/127.5, the preprocessing
// of the reference code. The result is a batch of one, [1, size, size, channels].
func loadImage(path string, cfg vitnb.Config) (*tensors.Tensor, error) {
	if cfg.Channels != 1 && cfg.Channels != 3 {
		return nil, fmt.Errorf("image %s: a model with %d channels cannot read image files (1 or 3 only)", path, cfg.Channels)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("opening image: %w", err)
	}
	defer f.Close()
	src, _, err := image.Decode(f)
	if err != nil {
		return nil, fmt.Errorf("decoding image %s: %w (PNG, JPEG and GIF are supported)", path, err)
	}
	s := cfg.ImageSize
	dst := image.NewRGBA(image.Rect(0, 0, s, s))
	draw.BiLinear.Scale(dst, dst.Bounds(), src, src.Bounds(), draw.Src, nil)
	data := make([]float32, 0, s*s*cfg.Channels)
	for i := 0; i < s*s; i++ {
		r, g, b := float32(dst.Pix[4*i]), float32(dst.Pix[4*i+1]), float32(dst.Pix[4*i+2])
		if cfg.Channels == 1 {
			// ITU-R 601 luma, as PIL's convert("L") and torchvision's Grayscale.
			data = append(data, (0.299*r+0.587*g+0.114*b-127.5)/127.5)
			continue
		}
		data = append(data, (r-127.5)/127.5, (g-127.5)/127.5, (b-127.5)/127.5)
	}
	return tensors.FromFlatDataAndDimensions(data, 1, s, s, cfg.Channels), nil
}
