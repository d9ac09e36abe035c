package main

import (
	"cmp"
	"flag"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"strings"

	"github.com/vitnb/vitnb/datasets"
	"github.com/vitnb/vitnb/vitnb/backend"
	"github.com/vitnb/vitnb/vitnb/classifier"
	"github.com/vitnb/vitnb/vitnb/training"
)

// dataFlags select a data set and how it is fed (training.Data).
type dataFlags struct {
	d     training.Data
	batch int
}

func addDataFlags(fs *flag.FlagSet, def training.Data, batch int) *dataFlags {
	f := &dataFlags{}
	d := &f.d
	fs.StringVar(&d.Dataset, "data", cmp.Or(def.Dataset, "fashion-mnist"), "data set: "+strings.Join(datasets.Names(), ", ")+", folder:PATH")
	fs.StringVar(&d.CacheDir, "data-dir", "", "data cache folder (default "+datasets.DefaultDir()+")")
	fs.StringVar(&d.EvalSplit, "split", cmp.Or(def.EvalSplit, datasets.SplitTest), "split to evaluate on: test, validation (held out from train: -holdout), val")
	fs.Func("holdout", "fraction of train held out as the validation split (default the data set's, e.g. 0.02 for CIFAR; -1: none)", d.SetHoldout)
	f.batch, d.TrainImages, d.PadCrop, d.Holdout = batch, def.TrainImages, def.PadCrop, def.Holdout
	intVar(fs, &f.batch, "batch", 1, math.MaxInt, "batch size")
	intVar(fs, &d.Workers, "workers", 0, 4096, "decoding workers (0: one per core)")
	intVar(fs, &d.TrainImages, "max-train", 0, math.MaxInt, "use only this many training examples, drawn at random with -seed (0: all)")
	fs.BoolVar(&d.Augment, "augment", def.Augment, "inception-style random crop and horizontal flip for training (the paper's, for 224 px data)")
	fs.Float64Var(&d.CropAreaMin, "crop-min", def.CropAreaMin, "smallest random crop area with -augment (default 0.05 as the paper's code)")
	intVar(fs, &d.PadCrop, "pad-crop", 0, 1024, "shift training images by up to N pixels, black border (torchvision RandomCrop(padding=N): 4 for CIFAR, 2 for 28 px)")
	fs.BoolVar(&d.Flip, "flip", def.Flip, "mirror half of the training images (for clothes and natural images, not digits)")
	return f
}

func runTrain(mode string, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet(mode, "[flags]", stderr)
	// Defaults: training.DefaultPretraining (the paper's pretraining scaled to small CPU runs) and the paper's
	// fine-tuning (Appendix B.1.1: SGD 0.9, cosine, clip 1, no decay), or the values of the recipe -recipe names,
	// which the flags given then override.
	job := training.Job{Command: mode, Optimizer: training.DefaultPretraining(), BatchSize: 128, Seed: 1}
	if mode == "finetune" {
		job.Optimizer = training.PaperFineTuning(2000, 50)
	}
	fs.String("recipe", "", "start from a named recipe (flags given override it): "+strings.Join(training.RecipeNames(), ", "))
	if name := flagValue(fs, args, "recipe"); name != "" {
		r, err := training.LookupRecipe(name)
		if err != nil {
			return usageErrorf("-recipe: %v", err)
		}
		if r.Job.Command != mode {
			return usageErrorf("-recipe %s is a %s recipe, not for %s", name, r.Job.Command, mode)
		}
		job = r.Job
	}
	mf := addModelFlags(fs, true)
	df := addDataFlags(fs, job.Data, job.BatchSize)
	o := &job.Optimizer
	fs.StringVar(&o.Kind, "optimizer", o.Kind, "adamw or sgd (momentum 0.9)")
	fs.StringVar(&o.Decay, "decay", o.Decay, "learning-rate decay after warm-up: cosine, linear or none")
	intVar(fs, &o.TotalSteps, "steps", 1, math.MaxInt, "training steps")
	intVar(fs, &o.WarmupSteps, "warmup", 0, math.MaxInt, "linear warm-up steps (at most a fifth of -steps when not given)")
	job.Accumulate = max(job.Accumulate, 1)
	intVar(fs, &job.Accumulate, "accumulate", 1, math.MaxInt, "sum the gradients of N batches per step (a step sees N x -batch images)")
	fs.Float64Var(&o.LearningRate, "lr", o.LearningRate, "peak learning rate")
	fs.Float64Var(&o.WeightDecay, "wd", o.WeightDecay, "decoupled weight decay (adamw only)")
	fs.BoolVar(&o.DecayAll, "wd-all", o.DecayAll, "decay every variable, as the paper's code (default spares biases, norms, cls and position embeddings, as timm)")
	fs.Float64Var(&o.ClipNorm, "clip", o.ClipNorm, "clip gradients to this global norm (0: off; the paper uses 1)")
	fs.Float64Var(&job.LabelSmoothing, "label-smoothing", job.LabelSmoothing, "label smoothing of the cross-entropy")
	fs.Int64Var(&job.Seed, "seed", job.Seed, "seed of the initialisation, data order and augmentation")
	fs.StringVar(&job.Dir, "dir", "", "run folder for checkpoints, metrics.jsonl and results.json (default runs/PRESET-DATA)")
	job.CheckpointEvery, job.Keep = 500, 3
	intVar(fs, &job.CheckpointEvery, "checkpoint-every", 0, math.MaxInt, "save a checkpoint every N steps (and at the end)")
	intVar(fs, &job.Keep, "keep", 0, math.MaxInt, "checkpoints to keep")
	intVar(fs, &job.EvalEvery, "eval-every", 0, math.MaxInt, "evaluate on the validation split every N steps (metrics.jsonl: the validation curve)")
	resume := fs.Bool("resume", false, "continue the run in -dir from its last checkpoint (the settings must be the run's)")
	override := fs.String("override", "", "with -resume: settings that may differ from the run's, comma-separated: "+
		strings.Join(training.SettingNames(), ", ")+", or paths of run.json")
	progress := fs.Bool("progress", true, "draw a progress bar")
	job.Devices = 1
	intVar(fs, &job.Devices, "devices", 1, 4096, "train data-parallel on N devices of an XLA backend: each -batch is split N ways, gradients averaged by XLA (xla:cpu shows 4 CPU devices)")
	if mode == "finetune" {
		fs.StringVar(&job.From, "from", "", "run folder of a vitnb pretraining to start from (its last checkpoint)")
		fs.StringVar(&job.Weights, "weights", "", "pretrained weights to start from: Google .npz, Hugging Face or timm safetensors, a catalog name or hf:ORG/NAME")
	}
	if _, err := parseArgs(fs, args, 0, ""); err != nil {
		return err
	}
	job.BatchSize, job.Data = df.batch, df.d
	if *override != "" && !*resume {
		return usageErrorf("-override names the changes a resumed run may make: it needs -resume")
	}
	if *resume && job.Dir == "" {
		return usageErrorf("-resume needs -dir, the run folder to continue")
	}
	if !mf.isGiven("warmup") && o.WarmupSteps > o.TotalSteps/5 {
		o.WarmupSteps = o.TotalSteps / 5
		fmt.Fprintf(stderr, "warm-up shortened to %d steps, a fifth of the run (-warmup sets it)\n", o.WarmupSteps)
	}
	if err := job.Validate(); err != nil {
		return usageErrorf("%v", err)
	}
	// The model: the weights file's architecture; else the -preset given; else the architecture of the run
	// fine-tuned or of the recipe, with the model flags given applied (the head is made for the data set).
	var err error
	base := job.Model
	switch {
	case job.Weights != "":
		if err := mf.only("-weights", "image-size", "classes"); err != nil {
			return err
		}
		job.ImageSize, job.Model.NumClasses = mf.given.ImageSize, mf.given.NumClasses
	case job.From != "" && !mf.isGiven("preset"):
		if base, err = training.ReadModelConfig(job.From); err != nil {
			return err
		}
		fallthrough
	case base.Width != 0 && !mf.isGiven("preset"):
		if job.Model, err = mf.configOn(base); err != nil {
			return err
		}
	default:
		if job.Model, err = mf.config(); err != nil {
			return err
		}
	}
	ds, err := df.d.Load()
	if err != nil {
		return err
	}
	if mf.isGiven("classes") && job.Model.NumClasses != 0 && job.Model.NumClasses != len(ds.Classes) {
		return usageErrorf("-classes %d, but %s has %d classes", job.Model.NumClasses, ds.Name, len(ds.Classes))
	}
	job.Model.NumClasses = len(ds.Classes)
	if job.Dir == "" {
		job.Dir = filepath.Join("runs", strings.ReplaceAll(job.Model.Name, "/", "_")+"-"+ds.Name)
	}
	b, choice, err := backend.Open(stderr)
	if err != nil {
		return err
	}
	opts := classifier.TrainOptions{Resume: *resume, Output: stdout, BackendName: choice.Config, Data: ds,
		Overrides: training.SettingPaths(strings.Split(*override, ","))}
	if *progress {
		opts.Progress = training.TerminalProgress(stdout)
	}
	c, err := classifier.Train(b, job, opts)
	if err != nil {
		return err
	}
	werr := c.Metrics().WriteTable(stdout, c.Run.Results.Data+"/"+c.Run.Results.EvalSplit, c.ClassName)
	_, err = fmt.Fprintf(stdout, "results written to %s\n", filepath.Join(job.Dir, training.ResultsFile))
	return cmp.Or(werr, err)
}

func runEval(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("eval", "-dir RUNDIR [-data NAME] [-split test]", stderr)
	df := addDataFlags(fs, training.Data{}, 0) // -batch 0: chosen from the model and the available memory
	dir := fs.String("dir", "", "run folder of a vitnb training (its config.json and last checkpoint)")
	resultsPath := fs.String("results", "", "results file (default DIR/results-eval-DATA-SPLIT.json; read by the notebooks' benchmark table)")
	if _, err := parseArgs(fs, args, 0, ""); err != nil {
		return err
	}
	c, ds, name, err := openRun(*dir, df, stderr)
	if err != nil {
		return err
	}
	res, err := c.EvaluateSplit(ds, df.d.EvalSplit, name)
	if err != nil {
		return err
	}
	path := cmp.Or(*resultsPath, c.EvalResultsFile(ds.Name, df.d.EvalSplit))
	if err := training.WriteResults(path, res); err != nil {
		return err
	}
	werr := res.Metrics.WriteTable(stdout, ds.Name+"/"+df.d.EvalSplit, c.ClassName)
	_, err = fmt.Fprintf(stdout, "results written to %s\n", path)
	return cmp.Or(werr, err)
}

// openRun opens the run in dir (-dir, required) and the data set of df (with the run's -holdout unless given); the
// library checks that the model's head fits the data set where it must. It returns the backend's name too.
func openRun(dir string, df *dataFlags, stderr io.Writer) (*classifier.Classifier, *datasets.Dataset, string, error) {
	if dir == "" {
		return nil, nil, "", usageErrorf("-dir RUNDIR is required")
	}
	if _, err := training.ReadModelConfig(dir); err != nil { // before loading a data set for nothing
		return nil, nil, "", err
	}
	ds, err := df.d.ForRun(dir).Load()
	if err != nil {
		return nil, nil, "", err
	}
	ds.WriteWarnings(stderr)
	b, choice, err := backend.Open(stderr)
	if err != nil {
		return nil, nil, "", err
	}
	c, err := classifier.FromOrigin(b, classifier.Origin{Dir: dir, BatchSize: df.batch})
	if err != nil {
		return nil, nil, "", err
	}
	c.WriteNotes(stderr) // an older checkpoint used, and why
	return c, ds, choice.Config, nil
}
