package classifier

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/gomlx/compute"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/train"

	"github.com/vitnb/vitnb/datasets"
	"github.com/vitnb/vitnb/vitnb"
	"github.com/vitnb/vitnb/vitnb/files"
	"github.com/vitnb/vitnb/vitnb/training"
	"github.com/vitnb/vitnb/vitnb/weights"
)

// TrainOptions say how to run a job, not what it is.
type TrainOptions struct {
	// Resume continues an interrupted run in the job's folder, or opens a finished one (its results file is
	// written last) without training again. Without it, a folder that holds checkpoints is an error.
	Resume bool
	// Fresh deletes the run in the job's folder first (training.ClearRun: vitnb's files only).
	Fresh bool
	// Progress is called after every optimizer step (training.TerminalProgress, or the notebooks' HTML bar).
	Progress func(training.Progress)
	// Output receives what the run says (default os.Stdout).
	Output io.Writer
	// BackendName names the backend in the results file, e.g. "xla:cpu" (default b.Name()).
	BackendName string
	// Overrides names the fields of the job that may differ from the stored one when resuming (training.Config
	// Overrides: paths in run.json such as "optimizer.TotalSteps" or "data.train_images"); any other change is
	// refused.
	Overrides []string
	// Data is the job's data set when the caller has loaded it already (datasets.Load of job.Data's Dataset,
	// CacheDir and Holdout), so that it is not read twice; nil loads it.
	Data *datasets.Dataset
}

// runConfig is the training configuration of a job run with opts, but for what the data and the starting point
// decide (Model, Init, EvalData) and Output: what NewRun runs and what a finished run is compared with.
func runConfig(job training.Job, opts TrainOptions) training.Config {
	return training.Config{Optimizer: job.Optimizer, BatchSize: job.BatchSize, Accumulate: job.Accumulate,
		LabelSmoothing: job.LabelSmoothing, Seed: job.Seed, Dir: job.Dir, CheckpointEvery: job.CheckpointEvery,
		Keep: job.Keep, LogEvery: job.LogEvery, EvalEvery: job.EvalEvery, Resume: opts.Resume,
		OnProgress: opts.Progress, Devices: job.Devices, Settings: settings(job), Overrides: opts.Overrides}
}

// settings is the part of a job that run.json records and a resumed run must share: all of it but where the files
// live (the run folder, the one it fine-tunes, the data cache: folders may move, as the notebooks' runs do when
// $VITNB_RUNS changes) and how many workers decode them.
func settings(job training.Job) training.Job {
	job.Dir, job.From, job.Data.CacheDir, job.Data.Workers = "", "", "", 0
	job.CheckpointEvery, job.Keep, job.LogEvery = 0, 0, 0
	return job
}

// Train runs a training job on backend b: it loads the data set, builds the model (from scratch, from a vitnb
// run or from pretrained weights, with a new zero head for the data set's classes), trains with checkpoints,
// evaluates on the job's evaluation split and writes the results file. It returns the trained classifier, whose
// Run holds the job, results and training curve. With opts.Resume, a finished run is opened instead.
func Train(b compute.Backend, job training.Job, opts TrainOptions) (*Classifier, error) {
	if b == nil {
		return nil, errNoBackend // before anything is written
	}
	if err := job.Validate(); err != nil {
		return nil, err
	}
	if job.Dir == "" {
		return nil, fmt.Errorf("the job has no run folder")
	}
	out := opts.Output
	if out == nil {
		out = os.Stdout
	}
	// Nothing is read, written or deleted in a folder that vitnb did not make (training.CheckOwnDir).
	if err := training.CheckOwnDir(job.Dir); err != nil {
		return nil, err
	}
	if opts.Fresh {
		if err := training.ClearRun(job.Dir); err != nil {
			return nil, err
		}
	}
	resultsPath, finishedAt := filepath.Join(job.Dir, training.ResultsFile), -1
	if _, err := os.Stat(resultsPath); err == nil && opts.Resume {
		// A finished run is opened, not trained again, if it is the same job (run.json; the overrides name the
		// changes that are meant); asked for more steps, it trains on from its last checkpoint.
		accepted, _, err := training.CheckDescription(job.Dir, runConfig(job, opts))
		if err != nil {
			return nil, err
		}
		res, err := training.ReadResults(resultsPath)
		if err != nil {
			return nil, err
		}
		if job.Optimizer.TotalSteps <= res.Steps {
			if len(accepted) > 0 {
				return nil, fmt.Errorf("the run %s finished at step %d: its settings cannot change (%s) unless it trains "+
					"on (more steps)", job.Dir, res.Steps, accepted[0])
			}
			c, err := Open(b, job.Dir)
			if err != nil {
				return nil, err
			}
			m := c.Metrics()
			fmt.Fprintf(out, "loaded the finished run %s: %s, %d steps on %s, %s accuracy %.2f%% on %d images\n", job.Dir,
				c.Config.Name, res.Steps, res.Data, res.EvalSplit, 100*m.Top1, m.Examples)
			return c, nil
		}
		finishedAt = res.Steps // said after NewRun's "resuming from step N" and the overrides it accepts
	}

	d, ds := job.Data, opts.Data
	if ds == nil {
		var err error
		if ds, err = d.Load(); err != nil {
			return nil, err
		}
	}
	ds.WriteWarnings(out)
	c, init, err := startingPoint(b, job, ds, out)
	if err != nil {
		return nil, err
	}
	cfg := c.Config
	c.Classes, c.Source = ds.Classes, job.Dir

	trainSrc, err := ds.Split(datasets.SplitTrain)
	if err != nil {
		return nil, err
	}
	if d.TrainImages > 0 && d.TrainImages < trainSrc.Len() {
		trainSrc = datasets.RandomSubset(trainSrc, d.TrainImages, uint64(job.Seed))
	}
	pcfg := c.Preprocessing.Train(job.BatchSize, uint64(job.Seed))
	pcfg.Augment, pcfg.CropAreaMin, pcfg.PadCrop, pcfg.Flip, pcfg.Workers = d.Augment, d.CropAreaMin, d.PadCrop, d.Flip, d.Workers
	pcfg.Name = ds.Name + "/train"
	trainData, err := datasets.NewPipeline(trainSrc, pcfg)
	if err != nil {
		return nil, err
	}
	evalSplit := d.EvalSplit
	if evalSplit == "" {
		evalSplit = datasets.SplitTest
	}
	evalData, err := c.Split(ds, evalSplit, d.EvalImages, 0, 0)
	if err != nil {
		return nil, err
	}

	var valData train.Dataset
	if job.EvalEvery > 0 {
		if valData, err = validationData(c, ds, evalData, out); err != nil {
			return nil, err
		}
	}
	rcfg := runConfig(job, opts)
	rcfg.Model, rcfg.Init, rcfg.EvalData, rcfg.Output = cfg, init, valData, out
	run, err := training.NewRun(b, rcfg)
	if err != nil {
		return nil, err
	}
	defer func() { _ = run.Close() }()
	if finishedAt >= 0 {
		fmt.Fprintf(out, "the run had finished at step %d: it trains on to step %d\n", finishedAt, job.Optimizer.TotalSteps)
	}
	if err := files.WriteJSON(filepath.Join(job.Dir, ModelFile), modelInfo{Preprocessing: c.Preprocessing, Classes: c.Classes}); err != nil {
		return nil, err
	}
	c.Store, c.Run = run.Store, &RunInfo{Dir: job.Dir, Job: &job}
	if job.Devices > 1 {
		fmt.Fprintf(out, "data-parallel on %d devices: %d images per device per step\n", job.Devices, job.BatchSize/job.Devices)
	}
	fmt.Fprintf(out, "%s\n%s on %s: %d training examples, batch %d, steps %d (from %d), run folder %s\n",
		cfg, job.Command, ds.Name, trainSrc.Len(), job.BatchSize, job.Optimizer.TotalSteps, run.Step(), job.Dir)
	start, startStep := time.Now(), run.Step()
	if err := run.Train(trainData); err != nil {
		return nil, err
	}
	wall := time.Since(start)
	c.Run.TrainSeconds, c.Run.Checkpoint = wall.Seconds(), run.LastCheckpoint()
	fmt.Fprintf(out, "trained %d steps in %s\n", run.Step()-startStep, wall.Round(time.Second))
	if skipped := trainData.SkipReport(); skipped.Count > 0 {
		fmt.Fprintf(out, "training: %s\n", skipped)
	}
	m, err := c.Evaluate(evalData)
	if err != nil {
		return nil, err
	}
	accumulate := max(job.Accumulate, 1)
	res := &training.Results{Command: job.Command, Model: cfg, Optimizer: run.Config.Optimizer, Data: ds.Name,
		TrainExamples: trainSrc.Len(), EvalSplit: evalSplit, Backend: opts.BackendName, Steps: run.Step(),
		Devices: max(job.Devices, 1), BatchSize: job.BatchSize * accumulate, Accumulate: job.Accumulate,
		Augmentation: d.Augmentation(), LabelSmoothing: job.LabelSmoothing, WallSeconds: wall.Seconds(),
		Metrics: m, Finished: time.Now(), From: job.From, Weights: job.Weights, Checkpoint: run.LastCheckpoint().Name}
	if res.Backend == "" {
		res.Backend = b.Name()
	}
	if steps := run.Step() - startStep; steps > 0 {
		res.ImagesPerSecond = float64(steps*job.BatchSize*accumulate) / wall.Seconds()
	}
	if err := training.WriteResults(resultsPath, res); err != nil {
		return nil, err
	}
	c.Run.Results = res
	if c.Run.Curve, err = training.ReadCurve(job.Dir); err != nil {
		return nil, err
	}
	return c, nil
}

// startingPoint returns the model a job starts from, with the classes of ds, and the initialisation of its
// store: random (pretraining), a vitnb run's newest checkpoint or pretrained weights (fine-tuning, with a new
// zero head, as the paper, Appendix B.1.1).
func startingPoint(b compute.Backend, job training.Job, ds *datasets.Dataset, notes io.Writer) (*Classifier, func(*model.Store) error, error) {
	classes := len(ds.Classes)
	var src *Classifier
	var cfg vitnb.Config
	var err error
	switch {
	case job.Weights != "":
		src, err = Load(b, job.Weights, weights.Options{NumClasses: classes, ImageSize: job.ImageSize})
		if err != nil {
			return nil, nil, err
		}
		for _, n := range src.Notes {
			fmt.Fprintln(notes, n)
		}
		cfg = src.Config
	case job.From != "":
		if src, err = Open(b, job.From); err != nil {
			return nil, nil, err
		}
		cfg = src.Config
		if job.Model.Width != 0 {
			cfg = job.Model // the run's architecture with the caller's changes (regularisation, head)
		}
	default:
		cfg = job.Model
		if cfg.NumClasses != 0 && cfg.NumClasses != classes {
			return nil, nil, fmt.Errorf("the model has %d classes, but %s has %d", cfg.NumClasses, ds.Name, classes)
		}
	}
	cfg.NumClasses = classes
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, nil, err
	}
	c, err := New(b, cfg, model.NewStore())
	if err != nil {
		return nil, nil, err
	}
	if src == nil {
		return c, nil, nil
	}
	if err := training.CheckFineTune(src.Store, cfg, src.Source); err != nil {
		return nil, nil, err // before the run folder is made
	}
	c.Preprocessing = src.Preprocessing
	c.Preprocessing.ImageSize = cfg.ImageSize
	return c, training.InitFromStore(src.Store, cfg, src.Source, notes), nil
}

// validationData is what a job evaluates during training: the data set's validation split (held out from the
// training split), or the evaluation split when it has none, said on out.
func validationData(c *Classifier, ds *datasets.Dataset, evalData train.Dataset, out io.Writer) (train.Dataset, error) {
	if src, err := ds.Split(datasets.SplitValidation); err == nil && src.Len() > 0 {
		return c.Split(ds, datasets.SplitValidation, 0, 0, 0)
	}
	fmt.Fprintf(out, "%s has no validation split (its holdout is 0): evaluating on %s during training\n", ds.Name, evalData.Name())
	return evalData, nil
}
