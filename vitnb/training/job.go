package training

import (
	"encoding/json"
	"fmt"
	"math"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/vitnb/vitnb/datasets"
	"github.com/vitnb/vitnb/vitnb"
	"github.com/vitnb/vitnb/vitnb/files"
)

// Job is the whole description of a training job: the model, the data and how it is fed, where the weights start
// from, the optimizer and its schedule, the devices, and where checkpoints go. `vit pretrain` and `vit finetune`
// build one from their flags, the notebooks from a recipe and their budget; package classifier runs it
// (classifier.Train) and opens the run it leaves (classifier.Open). It is stored in the run folder as JSON.
type Job struct {
	// Command is "pretrain" (from scratch) or "finetune" (from From or Weights); it names the job in results.
	Command string `json:"command"`
	// Model is the architecture of a fresh model. Its NumClasses is set from the data set; fine-tuning takes the
	// architecture of From or Weights instead (with a new head for the data set's classes).
	Model vitnb.Config `json:"model"`
	// Data is the data set and how it is fed.
	Data Data `json:"data"`
	// From is a vitnb run folder to fine-tune (its newest checkpoint); Weights a pretrained checkpoint: a file
	// (Google .npz, Hugging Face or timm safetensors), a catalog name or hf:ORG/NAME. At most one of them.
	From    string `json:"from,omitempty"`
	Weights string `json:"weights,omitempty"`
	// ImageSize, with Weights, resamples the position embeddings to this resolution (0 keeps the checkpoint's).
	ImageSize int `json:"image_size,omitempty"`
	// Optimizer, schedule and clipping; its TotalSteps is the length of the run.
	Optimizer OptimizerConfig `json:"optimizer"`
	// BatchSize is the number of images per batch; Accumulate batches make an optimizer step (0 or 1: off).
	BatchSize  int `json:"batch_size"`
	Accumulate int `json:"accumulate,omitempty"`
	// LabelSmoothing of the cross-entropy (0 in the paper).
	LabelSmoothing float64 `json:"label_smoothing,omitempty"`
	// Seed of the initialisation, the data order, the augmentation and the TrainImages subset.
	Seed int64 `json:"seed"`
	// Devices trains data-parallel on this many devices of an XLA backend (0 or 1: one).
	Devices int `json:"devices,omitempty"`
	// Dir is the run folder: checkpoints, metrics.jsonl, config.json, job.json and results.json.
	Dir string `json:"dir"`
	// EvalEvery evaluates the model every this many steps during training on the validation split (held out from
	// the training split; the evaluation split when there is none) and logs it in metrics.jsonl. 0: only at the end.
	EvalEvery int `json:"eval_every,omitempty"`
	// CheckpointEvery, Keep and LogEvery: see Config (0: their defaults).
	CheckpointEvery int `json:"checkpoint_every,omitempty"`
	Keep            int `json:"keep,omitempty"`
	LogEvery        int `json:"log_every,omitempty"`
}

// Data selects a data set and how it is fed to training and evaluation.
type Data struct {
	// Dataset is a registered data set of package datasets (e.g. "fashion-mnist") or "folder:PATH".
	Dataset string `json:"dataset"`
	// CacheDir is the data sets' folder ("" for datasets.DefaultDir()).
	CacheDir string `json:"cache_dir,omitempty"`
	// Holdout is the fraction of the training split held out as the "validation" split (0: the data set's
	// default; -1: none).
	Holdout float64 `json:"holdout,omitempty"`
	// TrainImages, when above 0, trains on that many training images drawn at random with the job's Seed.
	TrainImages int `json:"train_images,omitempty"`
	// EvalSplit is the split evaluated at the end ("" for the test split); EvalImages its first images (0: all).
	EvalSplit  string `json:"eval_split,omitempty"`
	EvalImages int    `json:"eval_images,omitempty"`
	// Augment (inception crop and flip), its CropAreaMin, PadCrop and Flip: see datasets.Config.
	Augment     bool    `json:"augment,omitempty"`
	CropAreaMin float64 `json:"crop_area_min,omitempty"`
	PadCrop     int     `json:"pad_crop,omitempty"`
	Flip        bool    `json:"flip,omitempty"`
	// Workers decode batches in parallel (0: one per core).
	Workers int `json:"workers,omitempty"`
}

// Load loads the data set (datasets.Load) from the cache folder, with the validation hold-out.
func (d Data) Load() (*datasets.Dataset, error) {
	if err := d.checkHoldout(); err != nil {
		return nil, err
	}
	return datasets.Load(d.Dataset, datasets.Options{Dir: d.CacheDir, Holdout: d.Holdout})
}

// ForRun returns d with the validation hold-out of the run folder dir (its run.json) when d leaves it to the data
// set's default (0) and names the data set the run trained on: an evaluation of a run trained with -holdout 0.1 on
// its "validation" split must see the images the training held out, not the default's, some of which it trained
// on. A folder without a readable run.json, or a run of another data set, leaves d as it is.
func (d Data) ForRun(dir string) Data {
	if d.Holdout != 0 {
		return d
	}
	var run struct {
		Settings struct {
			Data Data `json:"data"`
		} `json:"settings"`
	}
	data, err := files.ReadSidecar(filepath.Join(dir, RunFile))
	if err != nil || json.Unmarshal(data, &run) != nil {
		return d
	}
	if r := run.Settings.Data; r.Dataset == d.Dataset && r.checkHoldout() == nil {
		d.Holdout = r.Holdout
	}
	return d
}

// SetHoldout parses a validation hold-out fraction (vit's -holdout) into d.Holdout, after checking it.
func (d *Data) SetHoldout(s string) error {
	h, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil {
		h = math.NaN()
	}
	if err := (Data{Holdout: h}).checkHoldout(); err != nil {
		return err
	}
	d.Holdout = h
	return nil
}

// checkHoldout checks the validation hold-out fraction.
func (d Data) checkHoldout() error {
	if h := d.Holdout; math.IsNaN(h) || (h != -1 && (h < 0 || h >= 1)) {
		return fmt.Errorf("-holdout must be in [0, 1) (or -1 for none), got %g", h)
	}
	return nil
}

// Augmentation describes the training augmentation for results files: "none", or its parts joined by "+".
func (d Data) Augmentation() string {
	var parts []string
	if d.Augment {
		crop := d.CropAreaMin
		if crop <= 0 {
			crop = datasets.DefaultCropAreaMin
		}
		parts = append(parts, fmt.Sprintf("inception-crop(area>=%g)+flip", crop))
	}
	if d.PadCrop > 0 {
		parts = append(parts, fmt.Sprintf("pad-crop(%d)", d.PadCrop))
	}
	if d.Flip && !d.Augment {
		parts = append(parts, "flip")
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, "+")
}

// Validate checks every field of the job that can be checked without reading files, and names the first that is
// wrong. The command line reports these errors as usage errors.
func (j Job) Validate() error {
	finite := func(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }
	d := j.Data
	switch {
	case j.Command != "pretrain" && j.Command != "finetune":
		return fmt.Errorf("job: command must be pretrain or finetune, got %q", j.Command)
	case j.Command == "finetune" && (j.From == "") == (j.Weights == ""):
		return fmt.Errorf("give one of -from RUNDIR (a vitnb run) or -weights FILE (a pretrained checkpoint): the model to fine-tune")
	case j.Command == "pretrain" && (j.From != "" || j.Weights != ""):
		return fmt.Errorf("pretraining starts from scratch: -from and -weights are for finetune")
	case d.Dataset == "":
		return fmt.Errorf("job: no data set")
	case j.BatchSize <= 0:
		return fmt.Errorf("-batch must be positive, got %d", j.BatchSize)
	case j.Accumulate < 0:
		return fmt.Errorf("-accumulate must be at least 1, got %d", j.Accumulate)
	case j.Devices < 0 || (j.Devices > 1 && j.BatchSize%j.Devices != 0):
		return fmt.Errorf("-devices %d: want a positive number of devices that divides -batch %d", j.Devices, j.BatchSize)
	case !finite(j.LabelSmoothing) || j.LabelSmoothing < 0 || j.LabelSmoothing >= 1:
		return fmt.Errorf("-label-smoothing must be in [0, 1), got %g", j.LabelSmoothing)
	case j.CheckpointEvery < 0:
		return fmt.Errorf("-checkpoint-every must not be negative, got %d", j.CheckpointEvery)
	case j.Keep < 0:
		return fmt.Errorf("-keep must not be negative, got %d", j.Keep)
	case j.EvalEvery < 0:
		return fmt.Errorf("-eval-every must not be negative, got %d", j.EvalEvery)
	case j.LogEvery < 0:
		return fmt.Errorf("log interval must not be negative, got %d", j.LogEvery)
	case j.ImageSize < 0:
		return fmt.Errorf("-image-size must not be negative, got %d", j.ImageSize)
	case d.TrainImages < 0:
		return fmt.Errorf("-max-train must not be negative, got %d", d.TrainImages)
	case d.EvalImages < 0:
		return fmt.Errorf("the number of evaluation images must not be negative, got %d", d.EvalImages)
	case d.checkHoldout() != nil:
		return d.checkHoldout()
	case !finite(d.CropAreaMin) || d.CropAreaMin < 0 || d.CropAreaMin > 1:
		return fmt.Errorf("-crop-min must be in (0, 1] (0 for the default %g), got %g", datasets.DefaultCropAreaMin, d.CropAreaMin)
	case d.PadCrop < 0:
		return fmt.Errorf("-pad-crop must not be negative, got %d", d.PadCrop)
	case d.Workers < 0:
		return fmt.Errorf("-workers must not be negative, got %d", d.Workers)
	}
	return j.Optimizer.WithDefaults().Validate() // steps, learning rate, warm-up, weight decay, clipping
}

// Recipe is a named, sourced starting point for a Job: the command line's -recipe flag and the notebooks start
// from one and change what they need.
type Recipe struct {
	// Name as -recipe takes it, and Source: where its values come from.
	Name, Source string
	// Job holds the recipe's values; Data.Dataset, Dir and, for fine-tuning, From or Weights are the user's.
	Job Job
}

var recipes = map[string]Recipe{
	"paper-pretraining": {Name: "paper-pretraining",
		Source: "Dosovitskiy et al. 2021, Section 4.1 and Appendix B.1, Table 3 (ImageNet-21k row): Adam β1 0.9, " +
			"β2 0.999, batch 4096, base learning rate 1e-3, weight decay 0.03 on every variable, linear decay, " +
			"10k warm-up steps, clipping at global norm 1",
		Job: Job{Command: "pretrain", BatchSize: 4096, Seed: 1, Optimizer: OptimizerConfig{Kind: "adamw",
			LearningRate: 1e-3, WarmupSteps: 10000, TotalSteps: 300000, Decay: "linear", WeightDecay: 0.03,
			DecayAll: true, ClipNorm: 1}}},
	"paper-finetuning": {Name: "paper-finetuning",
		Source: "Dosovitskiy et al. 2021, Appendix B.1.1: SGD momentum 0.9, batch 512, no weight decay, clipping at " +
			"global norm 1, cosine decay, 500 steps for Pets and Flowers (10k for CIFAR), learning rate from " +
			"{0.001, 0.003, 0.01, 0.03}, new head initialised to zero",
		Job: Job{Command: "finetune", BatchSize: 512, Seed: 1, Optimizer: PaperFineTuning(500, 50)}},
	"fashion-mnist-91": {Name: "fashion-mnist-91",
		Source: "vitnb's measured small-data recipe (docs/RESULTS.md): micro28 with mean pooling and 2 heads, " +
			"AdamW 1.5e-3, weight decay 0.05 sparing biases, norms and embeddings, 400 warm-up steps, cosine, " +
			"batch 64, 21,000 steps, 1-pixel shifts and flips: 91.18% on Fashion-MNIST's test set in 19 minutes " +
			"on 2 cores",
		Job: Job{Command: "pretrain", BatchSize: 64, Seed: 1,
			Data: Data{Dataset: "fashion-mnist", PadCrop: 1, Flip: true},
			Optimizer: OptimizerConfig{Kind: "adamw", LearningRate: 1.5e-3, WarmupSteps: 400, TotalSteps: 21000,
				Decay: "cosine", WeightDecay: 0.05, ClipNorm: 1}}},
}

func init() {
	r := recipes["fashion-mnist-91"]
	cfg, err := vitnb.Preset("micro28")
	if err != nil {
		panic(err)
	}
	cfg.Pooling, cfg.Heads = vitnb.PoolMean, 2
	r.Job.Model = cfg
	recipes[r.Name] = r
}

// Recipes lists the named recipes, sorted by name.
func Recipes() []Recipe {
	var out []Recipe
	for _, r := range recipes {
		out = append(out, r)
	}
	sort.Slice(out, func(a, b int) bool { return out[a].Name < out[b].Name })
	return out
}

// RecipeNames returns the names of the recipes, sorted.
func RecipeNames() []string {
	var names []string
	for _, r := range Recipes() {
		names = append(names, r.Name)
	}
	return names
}

// LookupRecipe returns the recipe of that name.
func LookupRecipe(name string) (Recipe, error) {
	r, ok := recipes[name]
	if !ok {
		return r, fmt.Errorf("unknown recipe %q: want one of %s", name, strings.Join(RecipeNames(), ", "))
	}
	return r, nil
}

// settingPaths maps the short names of a job's settings (the command line's flag names) to their paths in run.json,
// for TrainOptions.Overrides and training.Config.Overrides.
var settingPaths = map[string]string{
	"steps": "optimizer.TotalSteps", "lr": "optimizer.LearningRate", "warmup": "optimizer.WarmupSteps",
	"wd": "optimizer.WeightDecay", "decay": "optimizer.Decay", "clip": "optimizer.ClipNorm", "batch": "batch_size",
	"seed": "seed", "data": "data.dataset", "max-train": "data.train_images", "label-smoothing": "label_smoothing",
	"augment": "data.augment", "pad-crop": "data.pad_crop", "flip": "data.flip", "devices": "devices",
}

// SettingNames lists the short names SettingPaths knows, sorted.
func SettingNames() []string {
	var names []string
	for n := range settingPaths {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// SettingPaths turns names of settings ("steps", "lr", ...: SettingNames) into their paths in run.json; other
// names are kept as they are (paths already), blanks dropped. "steps" covers the warm-up too, whose default is a
// fraction of the steps (DefaultPretraining; vit pretrain shortens it to a fifth of a short run).
func SettingPaths(names []string) []string {
	var out []string
	for _, n := range names {
		if n = strings.TrimSpace(strings.TrimLeft(n, "-")); n == "" {
			continue
		}
		if n == "steps" {
			out = append(out, settingPaths["warmup"])
		}
		if p, ok := settingPaths[n]; ok {
			n = p
		}
		out = append(out, n)
	}
	return out
}
