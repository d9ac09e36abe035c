package main

import (
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/gomlx/compute"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/vitnb/vitnb/datasets"
	"github.com/vitnb/vitnb/vitnb"
	"github.com/vitnb/vitnb/vitnb/backend"
	"github.com/vitnb/vitnb/vitnb/training"
	"github.com/vitnb/vitnb/vitnb/weights"
)

func init() {
	commands["pretrain"] = command{
		summary: "train a ViT from scratch on a data set (AdamW, warm-up and decay), with checkpoints and a results file",
		run:     func(args []string, stdout, stderr io.Writer) error { return runTrain("pretrain", args, stdout, stderr) },
	}
	commands["finetune"] = command{
		summary: "fine-tune a trained ViT on a data set as the paper (SGD momentum, cosine, clip 1, zero head)",
		run:     func(args []string, stdout, stderr io.Writer) error { return runTrain("finetune", args, stdout, stderr) },
	}
	commands["eval"] = command{
		summary: "evaluate a trained ViT: top-1, top-5, per-class accuracy and confusion matrix",
		run:     runEval,
	}
}

// dataFlags select a data set and how it is fed.
type dataFlags struct {
	name, dir, split string
	batch, workers   int
	maxTrain         int
	augment, flip    bool
	cropMin          float64
	padCrop          int
}

func addDataFlags(fs *flag.FlagSet, defaultSplit string) *dataFlags {
	d := &dataFlags{}
	fs.StringVar(&d.name, "data", "fashion-mnist", "data set: "+strings.Join(datasets.Names(), ", ")+", folder:PATH")
	fs.StringVar(&d.dir, "data-dir", "", "data cache folder (default "+datasets.DefaultDir()+")")
	fs.StringVar(&d.split, "split", defaultSplit, "split to evaluate on: test, validation (held out from train), val")
	fs.IntVar(&d.batch, "batch", 128, "batch size")
	fs.IntVar(&d.workers, "workers", 0, "decoding workers (0: one per core)")
	fs.IntVar(&d.maxTrain, "max-train", 0, "use only this many training examples, drawn at random with -seed (0: all)")
	fs.BoolVar(&d.augment, "augment", false, "inception-style random crop and horizontal flip for training (the paper's, for 224 px data)")
	fs.Float64Var(&d.cropMin, "crop-min", 0, "smallest random crop area with -augment (default 0.05 as the paper's code)")
	fs.IntVar(&d.padCrop, "pad-crop", 0, "shift training images by up to N pixels, black border (torchvision RandomCrop(padding=N): 4 for CIFAR, 2 for 28 px)")
	fs.BoolVar(&d.flip, "flip", false, "mirror half of the training images (for clothes and natural images, not digits)")
	return d
}

// augmentation describes the training augmentation for results files: "none", or its parts joined by "+".
func (d *dataFlags) augmentation() string {
	var parts []string
	if d.augment {
		crop := d.cropMin
		if crop <= 0 {
			crop = datasets.DefaultCropAreaMin
		}
		parts = append(parts, fmt.Sprintf("inception-crop(area>=%g)+flip", crop))
	}
	if d.padCrop > 0 {
		parts = append(parts, fmt.Sprintf("pad-crop(%d)", d.padCrop))
	}
	if d.flip && !d.augment {
		parts = append(parts, "flip")
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, "+")
}

func (d *dataFlags) load() (*datasets.Dataset, error) {
	if d.batch <= 0 {
		return nil, usageErrorf("-batch must be positive, got %d", d.batch)
	}
	return datasets.Load(d.name, datasets.Options{Dir: d.dir})
}

// trainFlags are the optimisation flags of pretrain and finetune.
type trainFlags struct {
	optimizer, decay            string
	steps, warmup, every, keep  int
	accumulate                  int
	lr, wd, clip, smoothing     float64
	wdAll, resume, progress     bool
	seed                        int64
	dir, results, from, weights string
}

func runTrain(mode string, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet(mode, "[flags]", stderr)
	mf := addModelFlags(fs, true)
	df := addDataFlags(fs, datasets.SplitTest)
	tf := &trainFlags{}
	finetune := mode == "finetune"
	// Defaults: the paper's pretraining (Section 4.1, Appendix B.1: Adam, β=0.9/0.999, wd 0.1, warm-up, linear
	// decay) scaled to small CPU runs, and its fine-tuning (Appendix B.1.1: SGD 0.9, cosine, clip 1, no decay).
	defOpt, defDecay, defLR, defWD, defWarmup := "adamw", "cosine", 1e-3, 0.05, 200
	if finetune {
		paper := training.PaperFineTuning(0, 50)
		defOpt, defDecay, defLR, defWD, defWarmup = paper.Kind, paper.Decay, paper.LearningRate, 0, paper.WarmupSteps
	}
	fs.StringVar(&tf.optimizer, "optimizer", defOpt, "adamw or sgd (momentum 0.9)")
	fs.StringVar(&tf.decay, "decay", defDecay, "learning-rate decay after warm-up: cosine, linear or none")
	fs.IntVar(&tf.steps, "steps", 2000, "training steps")
	fs.IntVar(&tf.warmup, "warmup", defWarmup, "linear warm-up steps")
	fs.IntVar(&tf.accumulate, "accumulate", 1, "sum the gradients of N batches per step (a step sees N x -batch images)")
	fs.Float64Var(&tf.lr, "lr", defLR, "peak learning rate")
	fs.Float64Var(&tf.wd, "wd", defWD, "decoupled weight decay (adamw only)")
	fs.BoolVar(&tf.wdAll, "wd-all", false, "decay every variable, as the paper's code (default spares biases, norms, cls and position embeddings, as timm)")
	fs.Float64Var(&tf.clip, "clip", 1, "clip gradients to this global norm (0: off; the paper uses 1)")
	fs.Float64Var(&tf.smoothing, "label-smoothing", 0, "label smoothing of the cross-entropy")
	fs.Int64Var(&tf.seed, "seed", 1, "seed of the initialisation, data order and augmentation")
	fs.StringVar(&tf.dir, "dir", "", "run folder for checkpoints, metrics.jsonl and results.json (default runs/PRESET-DATA)")
	fs.IntVar(&tf.every, "checkpoint-every", 500, "save a checkpoint every N steps (and at the end)")
	fs.IntVar(&tf.keep, "keep", 3, "checkpoints to keep")
	fs.BoolVar(&tf.resume, "resume", false, "continue the run in -dir from its last checkpoint")
	fs.BoolVar(&tf.progress, "progress", true, "draw a progress bar")
	devices := fs.Int("devices", 1, "train data-parallel on N devices of an XLA backend: each -batch is split N ways, gradients averaged by XLA (xla:cpu shows 4 CPU devices)")
	fs.StringVar(&tf.results, "results", "", "results file (default DIR/results.json)")
	if finetune {
		fs.StringVar(&tf.from, "from", "", "run folder of a vitnb pretraining to start from (its last checkpoint)")
		fs.StringVar(&tf.weights, "weights", "", "pretrained weights to start from: Google .npz, Hugging Face or timm safetensors")
	}
	if err := parseFlags(fs, interleave(fs, args)); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageErrorf("unexpected arguments %q", fs.Args())
	}
	if finetune && (tf.from == "") == (tf.weights == "") {
		return usageErrorf("give one of -from RUNDIR (a vitnb run) or -weights FILE (a pretrained checkpoint): the model to fine-tune")
	}
	if tf.optimizer == "sgd" && tf.wd > 0 {
		return usageErrorf("-wd %g with -optimizer sgd: weight decay is for adamw (the paper fine-tunes with SGD without it)", tf.wd)
	}
	if tf.accumulate < 1 {
		return usageErrorf("-accumulate must be at least 1, got %d", tf.accumulate)
	}
	if tf.resume && tf.dir == "" {
		return usageErrorf("-resume needs -dir, the run folder to continue")
	}
	if *devices < 1 || df.batch%*devices != 0 {
		return usageErrorf("-devices %d: want a positive number of devices that divides -batch %d", *devices, df.batch)
	}
	warmupGiven := false
	fs.Visit(func(f *flag.Flag) { warmupGiven = warmupGiven || f.Name == "warmup" })
	if !warmupGiven && tf.steps > 0 && tf.warmup >= tf.steps {
		// The default warm-up is sized for runs of thousands of steps; a shorter run warms up for a tenth of
		// its steps instead of being refused (an explicit -warmup that long still is).
		fmt.Fprintf(stderr, "warm-up: %d steps, a tenth of -steps %d (the default %d is longer than the run)\n",
			tf.steps/10, tf.steps, tf.warmup)
		tf.warmup = tf.steps / 10
	}
	optCfg := training.OptimizerConfig{Kind: tf.optimizer, LearningRate: tf.lr, WarmupSteps: tf.warmup,
		TotalSteps: tf.steps, Decay: tf.decay, WeightDecay: tf.wd, DecayAll: tf.wdAll, ClipNorm: tf.clip}
	if _, err := training.NewOptimizer(optCfg); err != nil {
		return usageErrorf("%v", err)
	}
	var (
		cfg vitnb.Config
		err error
	)
	if tf.from != "" && !mf.presetGiven() {
		// Fine-tuning a vitnb run: its architecture, with the flags given applied (a new head for the data).
		base, err := training.ReadModelConfig(tf.from)
		if err != nil {
			return err
		}
		cfg, err = mf.configOn(base)
		if err != nil {
			return err
		}
	} else if cfg, err = mf.config(); err != nil {
		return err
	}
	ds, err := df.load()
	if err != nil {
		return err
	}
	var pretrained *model.Store
	if tf.weights != "" {
		// The architecture comes from the file; -image-size resamples the position embeddings, the head is
		// replaced by a zero one when the data has another number of classes (Appendix B.1.1).
		opts := weights.Options{NumClasses: len(ds.Classes)}
		mf.fs.Visit(func(f *flag.Flag) {
			switch f.Name {
			case "image-size":
				opts.ImageSize = mf.imageSize
			case "gelu":
				opts.GELU = vitnb.GELU(mf.gelu)
			}
		})
		store, loaded, err := weights.Load(tf.weights, opts)
		if err != nil {
			return err
		}
		pretrained, cfg = store, loaded.Config
		for _, note := range loaded.Notes {
			fmt.Fprintln(stderr, note)
		}
	}
	if cfg, err = fitToData(cfg, ds, mf); err != nil {
		return err
	}
	if tf.dir == "" {
		tf.dir = filepath.Join("runs", strings.ReplaceAll(cfg.Name, "/", "_")+"-"+ds.Name)
	}
	if tf.results == "" {
		tf.results = filepath.Join(tf.dir, "results.json")
	}
	trainSrc, err := ds.Split(datasets.SplitTrain)
	if err != nil {
		return err
	}
	if df.maxTrain > 0 && df.maxTrain < trainSrc.Len() {
		trainSrc = datasets.RandomSubset(trainSrc, df.maxTrain, uint64(tf.seed))
	}
	pcfg := datasets.TrainConfig(df.batch, cfg.ImageSize, uint64(tf.seed))
	pcfg.Channels, pcfg.Augment, pcfg.CropAreaMin, pcfg.Workers = cfg.Channels, df.augment, df.cropMin, df.workers
	pcfg.PadCrop, pcfg.Flip = df.padCrop, df.flip
	pcfg.Name = ds.Name + "/train"
	trainData, err := datasets.NewPipeline(trainSrc, pcfg)
	if err != nil {
		return err
	}
	evalData, err := evalPipeline(ds, df, cfg)
	if err != nil {
		return err
	}

	b, choice, err := backend.New()
	if err != nil {
		return err
	}
	fmt.Fprintln(stderr, choice)
	rcfg := training.Config{
		Model: cfg, Optimizer: optCfg, BatchSize: df.batch, Accumulate: tf.accumulate, LabelSmoothing: tf.smoothing,
		Seed: tf.seed, Dir: tf.dir,
		CheckpointEvery: tf.every, Keep: tf.keep, Resume: tf.resume, Progress: tf.progress, Output: stdout,
	}
	rcfg.Devices = *devices
	switch {
	case pretrained != nil:
		rcfg.Init = training.InitFromStore(pretrained, cfg, tf.weights, stderr)
	case finetune:
		rcfg.Init = training.InitFromRun(tf.from, cfg, stderr)
	}
	run, err := training.NewRun(b, rcfg)
	if err != nil {
		return err
	}
	defer run.Close()
	if *devices > 1 {
		fmt.Fprintf(stderr, "data-parallel on %d devices: %d images per device per step\n", *devices, df.batch / *devices)
	}
	fmt.Fprintf(stdout, "%s\n%s on %s: %d training examples, batch %d, steps %d (from %d), run folder %s\n",
		cfg, mode, ds.Name, trainSrc.Len(), df.batch, tf.steps, run.Step(), tf.dir)
	start := time.Now()
	startStep := run.Step()
	if err := run.Train(trainData); err != nil {
		return err
	}
	wall := time.Since(start)
	fmt.Fprintf(stdout, "trained %d steps in %s\n", run.Step()-startStep, wall.Round(time.Second))
	m, err := training.Evaluate(b, run.Store, cfg, evalData)
	if err != nil {
		return err
	}
	printMetrics(stdout, ds, df.split, m)
	res := training.Results{
		Command: mode, Model: cfg, Optimizer: run.Config.Optimizer, Data: ds.Name, TrainExamples: trainSrc.Len(),
		EvalSplit: df.split, Backend: choice.Config, Steps: run.Step(), BatchSize: df.batch * tf.accumulate,
		Accumulate: tf.accumulate, Augmentation: df.augmentation(), LabelSmoothing: tf.smoothing,
		WallSeconds: wall.Seconds(), Metrics: m, Finished: time.Now(), From: tf.from, Weights: tf.weights,
	}
	if steps := run.Step() - startStep; steps > 0 {
		res.ImagesPerSecond = float64(steps*df.batch*tf.accumulate) / wall.Seconds()
	}
	res.Devices = *devices
	if err := training.WriteResults(tf.results, &res); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "results written to %s\n", tf.results)
	return nil
}

// fitToData sets the model's classes and channels from the data set, or checks the ones given by flags.
func fitToData(cfg vitnb.Config, ds *datasets.Dataset, mf *modelFlags) (vitnb.Config, error) {
	classes := len(ds.Classes)
	given := false
	mf.fs.Visit(func(f *flag.Flag) { given = given || f.Name == "classes" })
	if given && cfg.NumClasses != classes {
		return cfg, usageErrorf("-classes %d, but %s has %d classes", cfg.NumClasses, ds.Name, classes)
	}
	cfg.NumClasses = classes
	return cfg, cfg.Validate()
}

// evalPipeline is the evaluation pipeline over the chosen split: resize to the model's resolution, in order.
func evalPipeline(ds *datasets.Dataset, df *dataFlags, cfg vitnb.Config) (*datasets.Pipeline, error) {
	ecfg := datasets.EvalConfig(df.batch, cfg.ImageSize)
	ecfg.Channels, ecfg.Workers = cfg.Channels, df.workers
	return ds.Pipeline(df.split, ecfg)
}

// printMetrics prints accuracy, per-class accuracy and the confusion matrix.
func printMetrics(w io.Writer, ds *datasets.Dataset, split string, m *training.Metrics) {
	fmt.Fprintf(w, "%s/%s: %d examples, top-1 %.2f%%, top-5 %.2f%%, loss %.4f\n", ds.Name, split, m.Examples,
		100*m.Top1, 100*m.Top5, m.Loss)
	if len(m.PerClass) > 20 {
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 1, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "class\taccuracy\t")
	for i := range m.PerClass {
		fmt.Fprintf(tw, "%d\t", i)
	}
	fmt.Fprintln(tw)
	for c, acc := range m.PerClass {
		name := fmt.Sprint(c)
		if c < len(ds.Classes) {
			name = ds.Classes[c]
		}
		fmt.Fprintf(tw, "%s\t%.1f%%\t", name, 100*acc)
		for _, n := range m.Confusion[c] {
			fmt.Fprintf(tw, "%d\t", n)
		}
		fmt.Fprintln(tw)
	}
	_ = tw.Flush()
}

func runEval(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("eval", "-dir RUNDIR [-data NAME] [-split test]", stderr)
	df := addDataFlags(fs, datasets.SplitTest)
	dir := fs.String("dir", "", "run folder of a vitnb training (its config.json and last checkpoint)")
	resultsPath := fs.String("results", "", "results file (default DIR/results-eval-DATA-SPLIT.json; read by the notebooks' benchmark table)")
	if err := parseFlags(fs, interleave(fs, args)); err != nil {
		return err
	}
	if *dir == "" {
		return usageErrorf("-dir RUNDIR is required")
	}
	cfg, err := training.ReadModelConfig(*dir)
	if err != nil {
		return err
	}
	ds, err := df.load()
	if err != nil {
		return err
	}
	if len(ds.Classes) != cfg.NumClasses {
		return fmt.Errorf("the model in %s has %d classes, %s has %d", *dir, cfg.NumClasses, ds.Name, len(ds.Classes))
	}
	evalData, err := evalPipeline(ds, df, cfg)
	if err != nil {
		return err
	}
	b, store, err := openRun(*dir, stderr)
	if err != nil {
		return err
	}
	start := time.Now()
	m, err := training.Evaluate(b, store, cfg, evalData)
	if err != nil {
		return err
	}
	printMetrics(stdout, ds, df.split, m)
	if *resultsPath == "" {
		name := strings.NewReplacer("/", "_", ":", "_").Replace(ds.Name)
		*resultsPath = filepath.Join(*dir, fmt.Sprintf("results-eval-%s-%s.json", name, df.split))
	}
	_, choice, err := backend.New()
	if err != nil {
		return err
	}
	res := training.Results{Command: "eval", Model: cfg, Data: ds.Name, EvalSplit: df.split, Backend: choice.Config,
		Devices: 1, WallSeconds: time.Since(start).Seconds(), Metrics: m, From: *dir, Finished: time.Now()}
	if err := training.WriteResults(*resultsPath, &res); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "results written to %s\n", *resultsPath)
	return nil
}

// openRun creates the backend (saying which and why on stderr) and loads the newest checkpoint of a run folder.
func openRun(dir string, stderr io.Writer) (compute.Backend, *model.Store, error) {
	b, choice, err := backend.New()
	if err != nil {
		return nil, nil, err
	}
	fmt.Fprintln(stderr, choice)
	store, err := training.LoadRun(dir)
	return b, store, err
}
