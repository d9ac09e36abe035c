package training

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"iter"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"time"

	"github.com/gomlx/compute"
	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/train"
	"github.com/gomlx/gomlx/ml/train/metric"
	"github.com/gomlx/gomlx/ml/train/optimizer"
	"github.com/gomlx/gomlx/support/exceptions"

	"github.com/vitnb/vitnb/vitnb"
	"github.com/vitnb/vitnb/vitnb/files"
)

// Config of a training run.
type Config struct {
	// Model is the architecture; its NumClasses must match the data.
	Model vitnb.Config
	// Net, if set, is trained instead of the ViT of Model: another classifier network, such as package cnn's
	// baseline (see Net).
	Net Net
	// Optimizer, schedule and clipping; its TotalSteps is the length of the run.
	Optimizer OptimizerConfig
	// BatchSize is the number of images per batch of the data set (informative: the data set makes the batches).
	BatchSize int
	// Accumulate sums the gradients of this many batches before each optimizer step (GoMLX's
	// train.Trainer.AccumulateGradients), so a step sees BatchSize*Accumulate images: the paper's batch of 4096
	// on a machine that holds far fewer. Steps, warm-up, checkpoints and logs count optimizer steps. 0 or 1: off.
	Accumulate int
	// LabelSmoothing of the cross-entropy (0 in the paper; timm's DeiT recipe uses 0.1).
	LabelSmoothing float64
	// Seed of the weight initialisation (and of dropout).
	Seed int64
	// Dir receives checkpoints, metrics.jsonl and config.json; "" trains in memory only.
	Dir string
	// CheckpointEvery saves a checkpoint every this many steps (and always at the end); 0 only at the end.
	CheckpointEvery int
	// Keep is the number of checkpoints kept; older ones are deleted (default 3).
	Keep int
	// Resume continues from the last checkpoint in Dir (falling back to the one before when the last cannot be
	// read). Without it, a Dir that has checkpoints is an error: a run never overwrites another's checkpoints. A
	// Dir without checkpoints starts a new run either way: Run.Resumed and the first line written to Output
	// ("resuming from step N in DIR" or "starting a new run in DIR") tell which happened.
	Resume bool
	// Settings is the caller's full description of the run (e.g. its command-line flags as a struct with JSON tags,
	// or a map): it is stored, with the training fields of this Config (Description), as run.json in Dir when the
	// run starts. On Resume, a stored description that differs from the new one is refused with an error naming
	// each changed field with its old and new values, unless Overrides names the field.
	Settings any
	// Overrides lists the fields of run.json that may change on Resume, by their path in run.json ("settings.lr",
	// "optimizer.LearningRate") or, for caller settings, without the "settings." prefix ("lr"); a path also covers
	// the fields below it. A name that is no field of either description is an error (a typo would otherwise
	// allow nothing). An accepted change is reported on Output and run.json is rewritten with the new values.
	Overrides []string
	// LogEvery writes the training loss to metrics.jsonl every this many steps (default 50).
	LogEvery int
	// Progress draws a progress bar on Output (TerminalProgress) when OnProgress is not set.
	Progress bool
	// EvalEvery, with EvalData, evaluates the model on EvalData every this many steps and at the end, and logs the
	// metrics in metrics.jsonl (StepRecord.Eval): the validation curve. 0: never.
	EvalEvery int
	EvalData  train.Dataset
	// OnProgress, if set, is called after every optimizer step (progress.go): the terminal bar and the
	// notebooks' HTML bar are two such callbacks.
	OnProgress func(Progress)
	// Output receives progress and messages (default os.Stdout).
	Output io.Writer
	// Init, if set, runs on the new store before the first step of a fresh run (not on resume), e.g. to load
	// pretrained weights for fine-tuning.
	Init func(store *model.Store) error
	// Devices trains data-parallel on this many devices of the backend when above 1: each batch is split along
	// its batch axis, weights are replicated, and XLA averages the gradients (parallel.go). It needs an XLA
	// backend with that many devices and batches divisible by it; checkpoints are the same as on one device.
	Devices int
}

// Run is a training run in progress: its store (the model's and optimizer's variables) and trainer.
type Run struct {
	Config  Config
	Backend compute.Backend
	Store   *model.Store
	Trainer *train.Trainer
	Loop    *train.Loop
	ckpt    *checkpoints
	metrics *os.File
	// parallel splits the batches across devices when Config.Devices > 1 (parallel.go).
	parallel *dataParallel
	// Resumed tells whether the run continues a previous one (from step ResumedFrom) or started afresh.
	Resumed bool
	// ResumedFrom is the step of the checkpoint the run resumed from (0 for a new run).
	ResumedFrom int
	resumedFrom CheckpointInfo
	lock        *dirLock
	watch       *divergence
}

// NewRun prepares a run: a fresh store, or the last checkpoint of cfg.Dir with cfg.Resume.
func NewRun(b compute.Backend, cfg Config) (*Run, error) {
	if cfg.Net == nil {
		cfg.Net = vitNet{cfg.Model}
		if err := vitnb.CheckDType(b, cfg.Model); err != nil {
			return nil, err
		}
		if err := cfg.Model.CheckMemoryOn(b, cfg.BatchSize, true); err != nil {
			return nil, err
		}
	}
	if err := cfg.Net.Validate(); err != nil {
		return nil, err
	}
	if cfg.Net.Classes() <= 0 {
		return nil, fmt.Errorf("training needs a model with a head: classes must be positive, got %d", cfg.Net.Classes())
	}
	opt, err := NewOptimizer(cfg.Optimizer)
	if err != nil {
		return nil, err
	}
	cfg.Optimizer = opt.Config()
	if !(cfg.LabelSmoothing >= 0 && cfg.LabelSmoothing < 1) { // NaN too
		return nil, fmt.Errorf("label smoothing must be in [0, 1), got %g", cfg.LabelSmoothing)
	}
	if cfg.Accumulate < 0 {
		return nil, fmt.Errorf("gradient accumulation must be at least 1 batch per step, got %d", cfg.Accumulate)
	}
	cfg.Accumulate = max(cfg.Accumulate, 1)
	if cfg.BatchSize < 0 {
		return nil, fmt.Errorf("the batch size must be positive, got %d", cfg.BatchSize)
	}
	parallel, err := newDataParallel(b, cfg.Devices, cfg.BatchSize) // nil for one device
	if err != nil {
		return nil, err
	}
	if parallel != nil && cfg.Accumulate > 1 {
		return nil, fmt.Errorf("data-parallel training (%d devices) cannot accumulate gradients: GoMLX v0.28's distributed train step does not implement it; raise the batch size instead", cfg.Devices)
	}
	if cfg.Keep <= 0 {
		cfg.Keep = 3
	}
	if cfg.LogEvery <= 0 {
		cfg.LogEvery = 50
	}
	if cfg.Output == nil {
		cfg.Output = os.Stdout
	}
	r := &Run{Config: cfg, Backend: b, Store: model.NewStore(), parallel: parallel,
		watch: newDivergence(cfg.Net.Classes())}
	r.Store.SetParam(model.ParamInitialSeed, cfg.Seed)
	ok := false
	defer func() {
		if !ok {
			_ = r.Close()
		}
	}()
	if cfg.Dir != "" {
		if err := r.openDir(); err != nil {
			return nil, err
		}
	}
	if !r.Resumed && cfg.Init != nil {
		if err := cfg.Init(r.Store); err != nil {
			return nil, err
		}
	}

	modelFn := cfg.Net.Logits
	accuracy := metric.NewExponentialMovingAverageMetric("Moving Average Accuracy", "~acc", metric.AccuracyMetricType,
		accuracyGraph, nil, 0.01)
	r.Trainer = train.NewTrainer(b, r.Store, modelFn, trainerLoss(cfg.LabelSmoothing), opt,
		[]metric.Interface{accuracy}, nil)
	if cfg.Accumulate > 1 {
		if err := r.Trainer.AccumulateGradients(cfg.Accumulate); err != nil {
			return nil, fmt.Errorf("gradient accumulation: %w", err)
		}
	}
	r.Loop = train.NewLoop(r.Trainer) // after AccumulateGradients: the loop counts batches, not steps
	ok = true
	return r, nil
}

// openDir locks the run folder, then resumes the run there (checking the model and the description) or starts
// a new one, and opens the metrics file.
func (r *Run) openDir() error {
	cfg := r.Config
	if err := ClaimDir(cfg.Dir); err != nil {
		return err
	}
	lock, err := lockDir(cfg.Dir)
	if err != nil {
		return err
	}
	r.lock = lock
	if r.ckpt, err = openCheckpoints(cfg.Dir, cfg.Keep); err != nil {
		return err
	}
	has, err := r.ckpt.has()
	if err != nil {
		return err
	}
	desc := cfg.Description()
	switch {
	case has && !cfg.Resume:
		return fmt.Errorf("%s already holds checkpoints of another run: pass -resume to continue it, or choose another directory", cfg.Dir)
	case has:
		if err := checkSameModel(cfg.Dir, cfg.Net); err != nil {
			return err
		}
		accepted, note, err := checkDescription(cfg.Dir, desc, cfg.Overrides)
		if err != nil {
			return err
		}
		ck, err := loadNewest(cfg.Dir, r.Store)
		if err != nil {
			return err
		}
		if v, ok := cfg.Net.(vitNet); ok {
			if err := CheckModel(r.Store, v.cfg); err != nil {
				return fmt.Errorf("%s does not fit its checkpoint %s: %w", filepath.Join(cfg.Dir, ModelConfigFile), ck.Name, err)
			}
		}
		r.Resumed, r.ResumedFrom, r.resumedFrom = true, r.Step(), ck
		fmt.Fprintf(cfg.Output, "resuming from step %d in %s (%s)\n", r.ResumedFrom, cfg.Dir, ck.Name)
		for _, line := range append([]string{ck.Fallback}, append(accepted, note)...) {
			if line != "" {
				fmt.Fprintln(cfg.Output, line)
			}
		}
		if err := writeDescription(cfg.Dir, desc); err != nil {
			return err
		}
	default:
		why := ""
		if cfg.Resume {
			why = " (-resume: there is no checkpoint to resume there)"
		}
		fmt.Fprintf(cfg.Output, "starting a new run in %s%s\n", cfg.Dir, why)
		if err := WriteJSONAtomic(filepath.Join(cfg.Dir, ModelConfigFile), cfg.Net.Config()); err != nil {
			return err
		}
		if err := writeDescription(cfg.Dir, desc); err != nil {
			return err
		}
	}
	f, err := os.OpenFile(filepath.Join(cfg.Dir, "metrics.jsonl"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("opening the metrics file: %w", err)
	}
	r.metrics = f
	return nil
}

// accuracyGraph is the fraction of examples whose arg-max logit is the label (labels [batch] or [batch, 1]).
func accuracyGraph(_ *model.Scope, labels, logits []*Node) *Node {
	l := logits[0]
	choice := ArgMax(l, -1, labels[0].DType())
	hit := ConvertDType(Equal(choice, Reshape(labels[0], l.Shape().Dimensions[0])), l.DType())
	return ReduceAllMean(hit)
}

// LastCheckpoint is the checkpoint that the run saved last (Train saves one at the end), or that it resumed from
// when it has saved none; zero without a run folder.
func (r *Run) LastCheckpoint() CheckpointInfo {
	if r.ckpt == nil {
		return CheckpointInfo{}
	}
	if r.ckpt.last.Name == "" {
		return r.resumedFrom
	}
	return r.ckpt.last
}

// Step returns the number of steps trained so far (GoMLX's global step).
func (r *Run) Step() int { return int(optimizer.GetGlobalStep(r.Store)) }

// StepRecord is one line of metrics.jsonl.
type StepRecord struct {
	Step         int       `json:"step"`
	Time         time.Time `json:"time"`
	Loss         float64   `json:"loss"`
	Accuracy     float64   `json:"train_accuracy"`
	LearningRate float64   `json:"learning_rate"`
	ImagesPerSec float64   `json:"images_per_second"`
	Eval         *Metrics  `json:"eval,omitempty"`
}

// Train runs the remaining steps (TotalSteps minus the steps already done) on data, which must yield the same
// batches for the same seed: on resume its first Step() batches are skipped so the data order continues where
// the interrupted run stopped. A non-finite loss stops the run with an error before any checkpoint is written.
func (r *Run) Train(data train.Dataset) error {
	if r == nil {
		return errors.New("no run (nil *training.Run): use training.NewRun")
	}
	total := r.Config.Optimizer.TotalSteps
	done := r.Step()
	if done >= total {
		return nil
	}
	onProgress := r.Config.OnProgress
	if onProgress == nil && r.Config.Progress {
		onProgress = TerminalProgress(r.Config.Output)
	}
	start := time.Now()
	var last time.Time
	k := r.Config.Accumulate
	r.Loop.OnStep("vitnb-check", train.Priority(-100), func(loop *train.Loop, metrics []*tensors.Tensor) error {
		loss := ScalarValue(metrics[0])
		batch := loop.LoopStep + 1 // the loop counts batches; with accumulation, k batches make a step
		step := (batch + k - 1) / k
		if math.IsNaN(loss) || math.IsInf(loss, 0) {
			return &StopError{fmt.Sprintf("the loss became %g at step %d: stopping without saving a checkpoint%s (lower the learning rate or enable gradient clipping)", loss, step, r.stopAtLastSane())}
		}
		if err := r.watch.add(loss); err != nil {
			// The curve keeps the step that stopped the run (a NaN loss cannot be written in JSON).
			_ = r.logRecord(StepRecord{Step: step, Time: time.Now(), Loss: loss, LearningRate: r.Config.Optimizer.LearningRateAt(step)})
			return &StopError{fmt.Sprintf("training diverged at step %d: %v; stopping without saving a checkpoint%s (lower the learning rate or enable gradient clipping)", step, err, r.stopAtLastSane())}
		}
		if batch%k != 0 {
			return nil // inside an accumulation: the weights have not changed yet
		}
		if onProgress != nil {
			onProgress(Progress{Step: step, Total: total, StartStep: done, Elapsed: time.Since(start), Loss: loss,
				Accuracy: ScalarValue(metrics[2]), ImagesPerStep: r.Config.BatchSize * k})
		}
		evalDue := r.Config.EvalEvery > 0 && r.Config.EvalData != nil && (step%r.Config.EvalEvery == 0 || step == total)
		if r.metrics != nil && (step%r.Config.LogEvery == 0 || step == total || evalDue) {
			rec := StepRecord{Step: step, Time: time.Now(), Loss: loss, Accuracy: ScalarValue(metrics[2]),
				LearningRate: r.Config.Optimizer.LearningRateAt(step)}
			if evalDue {
				// A new executable each time: inference graphs may hold the weights they were compiled with as
				// constants (GoMLX's Go backend), and these change between evaluations.
				m, err := EvaluateNet(r.Backend, r.Store, r.Config.Net, r.Config.EvalData)
				if err != nil {
					return fmt.Errorf("evaluating at step %d: %w", step, err)
				}
				rec.Eval = m
			}
			if !last.IsZero() {
				rec.ImagesPerSec = float64(r.Config.LogEvery*r.Config.BatchSize*k) / time.Since(last).Seconds()
			}
			last = time.Now()
			if err := r.logRecord(rec); err != nil {
				return err
			}
		}
		if r.ckpt != nil && r.Config.CheckpointEvery > 0 && step%r.Config.CheckpointEvery == 0 && step < total {
			return r.ckpt.save(r.Store, r.watch.smoothed(), r.watch.sane())
		}
		return nil
	})
	// Checkpoints are only written between steps, so a resumed run starts a fresh accumulation.
	data = skipBatches(data, done*k)
	if r.parallel != nil {
		data = r.parallel.wrap(data)
	}
	_, err := r.Loop.RunSteps(data, (total-done)*k)
	if stop := (*StopError)(nil); errors.As(err, &stop) {
		return stop // without the training loop's wrapping ("Loop.RunSteps(60): failed TrainStep ...")
	}
	if err != nil {
		return vitnb.PlainBackendError(err)
	}
	if r.ckpt != nil {
		return r.ckpt.save(r.Store, r.watch.smoothed(), r.watch.sane())
	}
	return nil
}

// StopError is the error of a run that stopped because its loss became non-finite or diverged.
type StopError struct{ msg string }

func (e *StopError) Error() string { return e.msg }

// stopAtLastSane sets aside the checkpoints saved after the last sane one (they hold the divergence), so that a
// resumed run, eval and predict start from it, and names it for the message of the stop.
func (r *Run) stopAtLastSane() string {
	if r.ckpt == nil || r.ckpt.marks.LastSane == nil {
		return ""
	}
	m := r.ckpt.marks.LastSane
	return fmt.Sprintf("; the last sane checkpoint is %s (step %d)%s", m.Name, m.Step, r.ckpt.setAsideDiverged())
}

// logRecord appends one JSON line to metrics.jsonl.
func (r *Run) logRecord(rec StepRecord) error {
	if r.metrics == nil {
		return nil
	}
	line, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	if _, err := r.metrics.Write(append(line, '\n')); err != nil {
		return fmt.Errorf("writing %s: %w", r.metrics.Name(), err)
	}
	return nil
}

// Close releases the metrics file and the lock of the run folder (nothing for a nil Run).
func (r *Run) Close() error {
	if r == nil {
		return nil
	}
	var err error
	if r.metrics != nil {
		err = r.metrics.Close()
		r.metrics = nil
	}
	if lerr := r.lock.release(); err == nil {
		err = lerr
	}
	r.lock = nil
	return err
}

// ScalarValue returns the value of a scalar float tensor (a loss or metric) as float64, NaN for anything else.
func ScalarValue(t *tensors.Tensor) float64 {
	v := reflect.ValueOf(t.Value())
	if v.CanFloat() {
		return v.Float()
	}
	return math.NaN()
}

// skipBatches returns data without its first n batches (only on the first Iter call), so a resumed run sees
// the batches that the interrupted run would have seen next.
func skipBatches(data train.Dataset, n int) train.Dataset {
	if n <= 0 {
		return data
	}
	return &skipped{Dataset: data, n: n}
}

type skipped struct {
	train.Dataset
	n int
}

func (s *skipped) Iter() iter.Seq2[train.Batch, error] {
	n := s.n
	s.n = 0
	inner := s.Dataset.Iter()
	return func(yield func(train.Batch, error) bool) {
		for b, err := range inner {
			if err == nil && n > 0 {
				n--
				for _, t := range append(b.Inputs, b.Labels...) {
					_ = t.FinalizeAll()
				}
				continue
			}
			if !yield(b, err) {
				return
			}
		}
	}
}

// ModelConfigFile is the file of a run folder that holds the configuration of its model (vitnb.Config, or the
// Config of another Net), written when the run starts.
const ModelConfigFile = "config.json"

// ReadModelConfig reads the model configuration of a run folder (its config.json).
func ReadModelConfig(dir string) (vitnb.Config, error) {
	var cfg vitnb.Config
	path := filepath.Join(dir, ModelConfigFile)
	data, err := files.ReadSidecar(path)
	if err != nil {
		return cfg, fmt.Errorf("%s is not a vitnb run folder: %w", dir, err)
	}
	if err := json.Unmarshal(data, &cfg); err != nil {
		return cfg, fmt.Errorf("%s: %w", path, err)
	}
	if err := cfg.Validate(); err != nil {
		return cfg, err
	}
	return cfg, checkRecordedModel(dir, cfg)
}

// checkRecordedModel compares the model configuration cfg read from the run folder dir's config.json with the
// model that its run.json records (the job's settings.model), so that an edited config.json ("GELU": "tanh", a
// LayerNormEpsilon: fields that change no shape, so the checkpoint still loads) is an error naming the field and
// both values, not a different model run without a word. The fields that decide the variables' shapes are left to
// the checkpoint (CheckModel), the regularisation (dropout rates), which a resumed run may change, and the
// informative Name are not compared. A run.json without a job's model (runs of an older
// vitnb, a training.Config whose Settings are not a Job, or a fine-tuning from -weights, whose architecture is the
// checkpoint's) leaves nothing to compare.
func checkRecordedModel(dir string, cfg vitnb.Config) error {
	path := filepath.Join(dir, RunFile)
	data, err := files.ReadSidecar(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var desc struct {
		Settings struct {
			Command string          `json:"command"`
			Weights string          `json:"weights"`
			Model   json.RawMessage `json:"model"`
		} `json:"settings"`
	}
	if json.Unmarshal(data, &desc) != nil || desc.Settings.Command == "" || desc.Settings.Weights != "" ||
		len(desc.Settings.Model) == 0 {
		return nil // not a job's description (training.Config.Settings may be anything): nothing recorded
	}
	var rec vitnb.Config
	if err := json.Unmarshal(desc.Settings.Model, &rec); err != nil {
		return fmt.Errorf("%s: settings.model: %w", path, err)
	}
	if rec.Width == 0 {
		return nil // a fine-tuning that kept the architecture of the run it started from
	}
	rec = rec.WithDefaults()
	if rec.NumClasses == 0 {
		rec.NumClasses = cfg.NumClasses // set from the data set when the run started
	}
	got, want := reflect.ValueOf(cfg), reflect.ValueOf(rec)
	var diffs []string
	for i := range got.NumField() {
		name := got.Type().Field(i).Name
		switch name {
		case "Name", "Dropout", "AttentionDropout", "DropPath":
			continue
		case "ImageSize", "Channels", "PatchSize", "Width", "Depth", "MLPDim", "NumClasses", "RepresentationSize":
			continue // shapes: the checkpoint is the judge of these (CheckModel names the file's and the checkpoint's values)
		}
		a, _ := json.Marshal(got.Field(i).Interface())
		b, _ := json.Marshal(want.Field(i).Interface())
		if string(a) != string(b) {
			diffs = append(diffs, fmt.Sprintf("%s is %s there, %s in %s", name, a, b, RunFile))
		}
	}
	if len(diffs) > 0 {
		return fmt.Errorf("%s does not match the model its run was trained as: %s",
			filepath.Join(dir, ModelConfigFile), strings.Join(diffs, "; "))
	}
	return nil
}

// checkSameModel compares the model of a checkpoint directory (config.json) with cfg.
func checkSameModel(dir string, net Net) error {
	if v, ok := net.(vitNet); ok {
		saved, err := ReadModelConfig(dir)
		if err != nil {
			return fmt.Errorf("the checkpoints in %s are of another architecture than the ViT requested (%s): %w", dir, v.cfg, err)
		}
		a, b := saved, v.cfg
		// Regularisation may change between runs; the architecture may not.
		a.Dropout, a.AttentionDropout, a.DropPath, b.Dropout, b.AttentionDropout, b.DropPath = 0, 0, 0, 0, 0, 0
		a.Name, b.Name = "", ""
		if !reflect.DeepEqual(a, b) {
			return fmt.Errorf("the checkpoints in %s are of another architecture:\n  saved:     %s\n  requested: %s", dir, saved, v.cfg)
		}
		return nil
	}
	path := filepath.Join(dir, ModelConfigFile)
	saved, err := files.ReadSidecar(path)
	if err != nil {
		return fmt.Errorf("%s is not a vitnb run folder: %w", dir, err)
	}
	var a, b any
	now, err := json.Marshal(net.Config())
	if err != nil {
		return err
	}
	if json.Unmarshal(saved, &a) != nil || json.Unmarshal(now, &b) != nil || !reflect.DeepEqual(a, b) {
		return fmt.Errorf("the checkpoints in %s are of another architecture:\n  saved:     %s\n  requested: %s", dir, saved, now)
	}
	return nil
}

// Net is a classifier network that a Run trains: the ViT of Config.Model unless Config.Net sets another, such as
// package cnn's baseline (cnn.Config implements it).
type Net interface {
	// Validate tells what is wrong with the network's configuration, if anything.
	Validate() error
	// Classes is the number of outputs of the head.
	Classes() int
	// Logits builds the network on images [batch, height, width, channels] and returns logits [batch, classes].
	Logits(scope *model.Scope, images *Node) *Node
	// Config is what config.json of the run folder records.
	Config() any
}

// vitNet is the Net of a vitnb.Config.
type vitNet struct{ cfg vitnb.Config }

func (v vitNet) Validate() error { return v.cfg.Validate() }
func (v vitNet) Classes() int    { return v.cfg.NumClasses }
func (v vitNet) Config() any     { return v.cfg }
func (v vitNet) Logits(scope *model.Scope, images *Node) *Node {
	return vitnb.Logits(scope, v.cfg, images)
}

// WriteJSONAtomic writes v as indented JSON to path atomically (files.WriteJSON).
func WriteJSONAtomic(path string, v any) error { return files.WriteJSON(path, v) }

// catch turns a GoMLX panic into an error, its message cut to the cause (vitnb.PlainBackendError).
func catch(fn func()) error {
	return vitnb.PlainBackendError(exceptions.TryCatch[error](fn))
}
