package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"image"
	_ "image/gif" // Decoders for the image formats predict accepts.
	_ "image/jpeg"
	_ "image/png"
	"io"
	"math"
	"os"
	"sort"
	"strings"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/support/exceptions"
	"golang.org/x/image/draw"

	"github.com/vitnb/vitnb/vitnb"
	"github.com/vitnb/vitnb/vitnb/backend"
	"github.com/vitnb/vitnb/vitnb/weights"
)

func init() {
	commands["predict"] = command{
		summary: "classify one image with a ViT (random weights unless -weights FILE: Google .npz, Hugging Face or timm)",
		run:     runPredict,
	}
}

// prediction is what `vit predict -json` prints.
type prediction struct {
	Preset  string      `json:"preset"`
	Weights string      `json:"weights,omitempty"`
	Format  string      `json:"format,omitempty"`
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
	fs := newFlagSet("predict", "[-preset P | -weights FILE] -image FILE.png [-topk 5] [-json]", stderr)
	mf := addModelFlags(fs, true)
	weightsPath := fs.String("weights", "", "pretrained weights: Google .npz, Hugging Face safetensors (config.json beside it) or timm "+
		"safetensors; the architecture comes from the file (-preset, -heads check or complete it; -classes resets the head, "+
		"-image-size resamples the position embeddings, -gelu overrides the format's GELU: tanh for .npz, exact otherwise)")
	posInterp := fs.String("pos-interp", "bilinear", "with -weights and another -image-size: position-embedding resampling, "+
		"bilinear (vit_jax) or bicubic (timm)")
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
	var cfg vitnb.Config
	var pre *weights.Preprocessing
	var labels []string
	var store *model.Store
	var loaded *weights.Loaded
	var err error
	if *weightsPath != "" {
		store, loaded, err = loadWeights(fs, mf, *weightsPath, *posInterp)
		if err != nil {
			return err
		}
		defer store.Finalize()
		cfg, pre, labels = loaded.Config, &loaded.Preprocessing, loaded.Labels
		for _, n := range loaded.Notes {
			fmt.Fprintln(stderr, n)
		}
	} else {
		if cfg, err = mf.config(); err != nil {
			return err
		}
		if cfg.NumClasses == 1000 {
			labels = weights.ImageNetClasses()
		}
	}
	if cfg.NumClasses <= 0 {
		return usageErrorf("-classes must be positive to predict, got %d", cfg.NumClasses)
	}
	if *topK <= 0 {
		return usageErrorf("-topk must be positive, got %d", *topK)
	}
	img, err := loadImage(*imagePath, cfg, pre)
	if err != nil {
		return err
	}

	b, choice, err := backend.New()
	if err != nil {
		return err
	}
	fmt.Fprintln(stderr, choice)
	if store == nil {
		store = model.NewStore()
		store.SetParam(model.ParamInitialSeed, *seed)
	}
	logitsT, err := runLogits(b, store, cfg, img)
	if err != nil {
		return err
	}
	logits := tensors.MustCopyFlatData[float32](logitsT)

	p := prediction{Preset: cfg.Name, Backend: choice.Config, Image: *imagePath, Logits: logits, Top: topClasses(logits, *topK)}
	if loaded != nil {
		p.Weights, p.Format = loaded.Path, string(loaded.Format)
	}
	if len(labels) == len(logits) {
		for i := range p.Top {
			p.Top[i].Label = labels[p.Top[i].Class]
		}
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		return enc.Encode(p)
	}
	name := cfg.Name
	if loaded != nil {
		name = fmt.Sprintf("%s (%s weights)", loaded.Path, loaded.Format)
	}
	fmt.Fprintf(stdout, "%s on %s (%s)\n", name, *imagePath, choice.Config)
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
			return graph.ConvertDType(vitnb.Logits(scope, cfg, x), dtypes.Float32)
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

// loadWeights reads -weights with the model flags given on the command line as loading options: -preset and
// -heads check or complete the architecture, -classes resets the head, -image-size resamples the position
// embeddings, -gelu, -dtype and -ln-eps override the format's. Flags that would change the architecture
// itself (-width, -depth, ...) are usage errors: the architecture comes from the file.
func loadWeights(fs *flag.FlagSet, mf *modelFlags, path, interp string) (*model.Store, *weights.Loaded, error) {
	opts := weights.Options{Interpolation: weights.Interpolation(interp)}
	if opts.Interpolation != weights.Bilinear && opts.Interpolation != weights.Bicubic {
		return nil, nil, usageErrorf("-pos-interp %q: want bilinear or bicubic", interp)
	}
	var ferr error
	lnEps := 0.0
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "preset":
			opts.Preset = mf.preset
		case "heads":
			opts.Heads = mf.heads
		case "classes":
			opts.NumClasses = mf.classes
		case "image-size":
			opts.ImageSize = mf.imageSize
		case "gelu":
			opts.GELU = vitnb.GELU(mf.gelu)
			if opts.GELU != vitnb.GELUExact && opts.GELU != vitnb.GELUTanh {
				ferr = usageErrorf("-gelu %q: want exact or tanh", mf.gelu)
			}
		case "dtype":
			dt, ok := dtypeNames[strings.ToLower(mf.dtype)]
			if !ok {
				ferr = usageErrorf("-dtype %q: want float32, bfloat16 or float16", mf.dtype)
			}
			opts.DType = dt
		case "ln-eps":
			lnEps = mf.lnEps
		case "channels", "patch", "width", "depth", "mlp", "repr", "pooling":
			ferr = usageErrorf("-%s cannot be combined with -weights: the architecture comes from the weights file", f.Name)
		}
	})
	if ferr != nil {
		return nil, nil, ferr
	}
	store, info, err := weights.Load(path, opts)
	if err != nil {
		return nil, nil, err
	}
	if lnEps > 0 {
		info.Config.LayerNormEpsilon = lnEps
	}
	return store, info, nil
}

// loadImage decodes an image file, resizes it to the model's resolution (aspect ratio not kept, as the paper's
// evaluation at a fixed resolution) and scales it as the weights expect: without pre, bilinear and
// (x-127.5)/127.5, the preprocessing of the reference code; with pre (from -weights), its center crop, resize
// filter and per-channel mean and std. The result is a batch of one, [1, size, size, channels].
func loadImage(path string, cfg vitnb.Config, pre *weights.Preprocessing) (*tensors.Tensor, error) {
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
	var scaler draw.Scaler = draw.BiLinear
	srcRect := src.Bounds()
	if pre != nil {
		if pre.Resize == "bicubic" {
			scaler = draw.CatmullRom
		}
		if pre.CropPct > 0 && pre.CropPct < 1 { // timm's evaluation: the central crop_pct of the shorter side.
			side := int(math.Round(float64(min(srcRect.Dx(), srcRect.Dy())) * pre.CropPct))
			x0 := srcRect.Min.X + (srcRect.Dx()-side)/2
			y0 := srcRect.Min.Y + (srcRect.Dy()-side)/2
			srcRect = image.Rect(x0, y0, x0+side, y0+side)
		}
	}
	scaler.Scale(dst, dst.Bounds(), src, srcRect, draw.Src, nil)
	if pre != nil && len(pre.Mean) == cfg.Channels && cfg.Channels == 3 {
		data := make([]float32, 0, s*s*3)
		for i := 0; i < s*s; i++ {
			data = append(data, float32(dst.Pix[4*i])/255, float32(dst.Pix[4*i+1])/255, float32(dst.Pix[4*i+2])/255)
		}
		pre.Normalize(data)
		return tensors.FromFlatDataAndDimensions(data, 1, s, s, 3), nil
	}
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
