// Package classifier is a Vision Transformer ready to use: a vitnb run (trained by Train, or opened with Open) or a
// pretrained checkpoint (Load), with its backend, the preprocessing its weights expect and its class names. It
// predicts (tensors, image files, image.Image; top-k with class names), evaluates (top-1, top-5, per class,
// confusion), computes representations, few-shot and linear-probe accuracy, attention maps, and exports timm
// safetensors. The command line (cmd/vit) and the notebooks (package nb) are shells over it.
//
//	c, err := classifier.Load(b, "hf:google/vit-base-patch16-224", weights.Options{})
//	top, err := c.PredictFiles([]string{"cat.png"}, 5)
package classifier

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"

	"github.com/gomlx/compute"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/vitnb/vitnb/datasets"
	"github.com/vitnb/vitnb/vitnb"
	"github.com/vitnb/vitnb/vitnb/explain"
	"github.com/vitnb/vitnb/vitnb/files"
	"github.com/vitnb/vitnb/vitnb/training"
	"github.com/vitnb/vitnb/vitnb/weights"
)

// Classifier is a ViT with its variables on a backend, the preprocessing its inputs need and its class names.
// Its methods compile each graph once (per input shape) and reuse it; they are safe for concurrent use.
type Classifier struct {
	// Config is the architecture.
	Config vitnb.Config
	// Store holds the variables at the root scope.
	Store *model.Store
	// Backend runs the model.
	Backend compute.Backend
	// Preprocessing turns images into the model's input: what its weights were trained with.
	Preprocessing datasets.Preprocessing
	// Classes names the classes of the head (nil when unknown).
	Classes []string
	// Source is the run folder or the weights file the classifier comes from ("" for random weights).
	Source string
	// Format is the checkpoint format of a pretrained classifier (weights.Format: google, hf, timm).
	Format string
	// Notes says, one line each, what loading inferred or changed (weights.Loaded.Notes).
	Notes []string
	// BatchSize is the number of images that go through the model at once in Predict, PredictImages,
	// PredictFiles, Split (Evaluate, EvaluateSplit, Representations) and AttentionPicture: 0 chooses it from the
	// model and the available memory (Batch).
	BatchSize int

	// Run is set for a vitnb run (Train, Open).
	Run *RunInfo

	mu        sync.Mutex
	eval      *model.Exec
	repr      *model.Exec
	logits    *model.ExecOneOutput
	inspector *vitnb.Inspector
	explainer *explain.Explainer
}

// RunInfo is what a run folder holds besides the weights.
type RunInfo struct {
	// Dir is the run folder.
	Dir string
	// Job is the job that trained it, as run.json records it (nil for older runs).
	Job *training.Job
	// Results is the results file of a finished run (nil while unfinished).
	Results *training.Results
	// Curve is the training loss and accuracy logged during training, sorted by step, without repeats.
	Curve []training.StepRecord
	// TrainSeconds is the training time of this process (0 when opened).
	TrainSeconds float64
	// Checkpoint is the checkpoint the model was loaded from (Open: the newest readable one; its Fallback says
	// why newer ones were not used) or last saved (Train).
	Checkpoint training.CheckpointInfo
}

// ModelFile is the file of a run folder that holds the preprocessing and class names of the run's model (beside
// the checkpoints, config.json, run.json with the job, metrics.jsonl and results.json).
const ModelFile = "model.json"

// modelInfo is the content of ModelFile.
type modelInfo struct {
	Preprocessing datasets.Preprocessing `json:"preprocessing"`
	Classes       []string               `json:"classes"`
}

// check tells whether the model file fits the model of cfg: class names for every class of the head (or none:
// null or no "classes", never an empty list for a head),
// preprocessing at the model's image size for its channels.
func (m modelInfo) check(cfg vitnb.Config) error {
	if m.Classes != nil && len(m.Classes) == 0 && cfg.NumClasses > 0 {
		// vitnb writes the data set's names (or null): an empty list is an edited or damaged file, and taking it
		// would label every prediction with a blank name.
		return fmt.Errorf("an empty list of class names for the %d classes of the model's head (remove \"classes\" to label them by number)", cfg.NumClasses)
	}
	if len(m.Classes) > 0 && len(m.Classes) != cfg.NumClasses {
		return fmt.Errorf("%d class names for the %d classes of the model's head", len(m.Classes), cfg.NumClasses)
	}
	if err := datasets.CheckClassNames(m.Classes); err != nil {
		return fmt.Errorf("class names: %w", err)
	}
	if m.Preprocessing.ImageSize != cfg.ImageSize {
		return fmt.Errorf("preprocessing for %dx%d images, the model takes %dx%d", m.Preprocessing.ImageSize,
			m.Preprocessing.ImageSize, cfg.ImageSize, cfg.ImageSize)
	}
	return m.Preprocessing.Check(cfg.Channels)
}

// New returns a classifier of cfg with the variables of store (random ones are created at first use when the
// store is empty, from its seed) and the reference preprocessing. A model that cannot run on one image in the
// machine's memory (Config.CheckMemoryOn) is an error here, before any variable is created.
func New(b compute.Backend, cfg vitnb.Config, store *model.Store) (*Classifier, error) {
	if b == nil {
		return nil, errNoBackend
	}
	if store == nil {
		return nil, errors.New("no store for the variables (nil): pass model.NewStore() for random ones, or use Random")
	}
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := vitnb.CheckDType(b, cfg); err != nil {
		return nil, err
	}
	if err := cfg.CheckMemoryOn(b, 1, false); err != nil {
		return nil, err
	}
	c := &Classifier{Config: cfg, Store: store, Backend: b,
		Preprocessing: datasets.ReferencePreprocessing(cfg.ImageSize, cfg.Channels)}
	if cfg.NumClasses == 1000 {
		c.Classes = weights.ImageNetClasses()
	}
	return c, nil
}

// errNoBackend is the error of a constructor given a nil backend.
var errNoBackend = errors.New("no backend (nil): open one with backend.Open or backend.New")

// usable tells what keeps c from running: a nil or zero Classifier (not made by New, Random, Load or Open), a
// missing backend or store, an invalid configuration. The methods that run the model check it first.
func (c *Classifier) usable() error {
	switch {
	case c == nil:
		return errors.New("nil classifier: make one with New, Random, Load or Open")
	case c.Backend == nil:
		return errors.New("the classifier has no backend: make it with New, Random, Load or Open")
	case c.Store == nil:
		return errors.New("the classifier has no variables (nil Store): make it with New, Random, Load or Open")
	}
	if err := c.Config.Validate(); err != nil {
		return fmt.Errorf("the classifier's model: %w", err)
	}
	return nil
}

// Random returns a classifier of cfg with random weights drawn with seed.
func Random(b compute.Backend, cfg vitnb.Config, seed int64) (*Classifier, error) {
	store := model.NewStore()
	store.SetParam(model.ParamInitialSeed, seed)
	return New(b, cfg, store)
}

// Load reads a pretrained checkpoint: a file (Google .npz, Hugging Face or timm safetensors), a name of the
// weights catalog or hf:ORG/NAME (weights.Resolve finds or downloads it), with its own preprocessing and labels.
// The model (at opts.ImageSize, if given) is checked against the backend's memory, as New does, before any
// tensor is read.
func Load(b compute.Backend, name string, opts weights.Options) (*Classifier, error) {
	if b == nil {
		return nil, errNoBackend
	}
	path, err := resolveWeights(name)
	if err != nil {
		return nil, err
	}
	check := opts.CheckConfig
	opts.CheckConfig = func(cfg vitnb.Config) error {
		if check != nil {
			if err := check(cfg); err != nil {
				return err
			}
		}
		return cfg.WithDefaults().CheckMemoryOn(b, 1, false)
	}
	store, loaded, err := weights.Load(path, opts)
	if err != nil {
		return nil, err
	}
	c, err := New(b, loaded.Config, store)
	if err != nil {
		return nil, err
	}
	c.Source, c.Notes, c.Format = loaded.Path, loaded.Notes, string(loaded.Format)
	c.Preprocessing = loaded.Preprocessing
	c.Preprocessing.ImageSize = loaded.Config.ImageSize
	if len(loaded.Labels) == loaded.Config.NumClasses {
		c.Classes = loaded.Labels
	} else if loaded.Config.NumClasses != 1000 {
		c.Classes = nil
	}
	return c, nil
}

// Origin names where the model of a classifier comes from: pretrained Weights (Load, with WeightsOptions), else a
// run folder Dir (Open), else random weights of Config drawn with Seed (Random).
type Origin struct {
	Weights        string
	WeightsOptions weights.Options
	Dir            string
	Config         vitnb.Config
	Seed           int64
	// BatchSize becomes the classifier's BatchSize (0: chosen from the model and the memory).
	BatchSize int
}

// Validate refuses an Origin that names both Weights and Dir (in the words of the flags of `vit predict`).
func (o Origin) Validate() error {
	if o.Weights != "" && o.Dir != "" {
		return errors.New("give -weights or -dir, not both")
	}
	return nil
}

// FromOrigin returns the classifier that o names (Load, Open or Random).
func FromOrigin(b compute.Backend, o Origin) (*Classifier, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	var c *Classifier
	var err error
	switch {
	case o.Weights != "":
		c, err = Load(b, o.Weights, o.WeightsOptions)
	case o.Dir != "":
		c, err = Open(b, o.Dir)
	default:
		c, err = Random(b, o.Config, o.Seed)
	}
	if err != nil {
		return nil, err
	}
	c.BatchSize = o.BatchSize
	return c, nil
}

// Open returns the model of a run folder, finished or interrupted: its newest checkpoint, job, results and
// training curve.
func Open(b compute.Backend, dir string) (*Classifier, error) {
	if b == nil {
		return nil, errNoBackend
	}
	cfg, err := training.ReadModelConfig(dir)
	if err != nil {
		return nil, err
	}
	store, ck, err := training.LoadRunModel(dir, cfg)
	if err != nil {
		return nil, err
	}
	c, err := New(b, cfg, store)
	if err != nil {
		return nil, err
	}
	c.Source = dir
	c.Run = &RunInfo{Dir: dir, Checkpoint: ck}
	if ck.Fallback != "" {
		c.Notes = append(c.Notes, ck.Fallback)
	}
	var info modelInfo
	path := filepath.Join(dir, ModelFile)
	switch err := readJSON(path, &info); {
	case err == nil:
		if err := info.check(cfg); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		c.Preprocessing, c.Classes = info.Preprocessing, info.Classes
	case !errors.Is(err, os.ErrNotExist):
		return nil, err
	}
	var desc struct {
		Settings *training.Job `json:"settings"`
	}
	switch err := readJSON(filepath.Join(dir, training.RunFile), &desc); {
	case err == nil && desc.Settings != nil && desc.Settings.Command != "":
		c.Run.Job = desc.Settings
		c.Run.Job.Dir = dir
	case err != nil && !errors.Is(err, os.ErrNotExist):
		return nil, err
	}
	resultsPath := filepath.Join(dir, training.ResultsFile)
	if _, err := os.Stat(resultsPath); err == nil {
		if c.Run.Results, err = training.ReadResults(resultsPath); err != nil {
			return nil, err
		}
	}
	if c.Run.Job != nil && c.Run.Results != nil {
		c.Run.Job.From = c.Run.Results.From // run.json leaves folders out (settings)
	}
	if c.Classes == nil && c.Run.Results != nil {
		// Runs older than model.json: the class names of the data set they were trained on.
		if ds, err := datasets.Load(c.Run.Results.Data, datasets.Options{Holdout: -1}); err == nil && len(ds.Classes) == cfg.NumClasses {
			c.Classes = ds.Classes
		}
	}
	if c.Run.Curve, err = training.ReadCurve(dir); err != nil {
		return nil, err
	}
	return c, nil
}

// WriteNotes writes c.Notes to w, one line each (nothing for a nil w): what loading inferred or changed, such as
// an older checkpoint used because the newest could not be read.
func (c *Classifier) WriteNotes(w io.Writer) {
	if c == nil || w == nil {
		return
	}
	for _, n := range c.Notes {
		fmt.Fprintln(w, n)
	}
}

// Finished tells whether the classifier is a run that finished (its results file is written last).
func (c *Classifier) Finished() bool { return c != nil && c.Run != nil && c.Run.Results != nil }

// Metrics returns the evaluation stored with a finished run (nil otherwise).
func (c *Classifier) Metrics() *training.Metrics {
	if !c.Finished() {
		return nil
	}
	return c.Run.Results.Metrics
}

// ClassName returns the name of class i, or its number when the names are unknown.
func (c *Classifier) ClassName(i int) string {
	if i >= 0 && i < len(c.Classes) {
		return c.Classes[i]
	}
	return fmt.Sprint(i)
}

// String describes the classifier in one line.
func (c *Classifier) String() string {
	if c == nil {
		return "nil classifier"
	}
	s := c.Config.String()
	if c.Source != "" {
		s += " from " + c.Source
	}
	return s
}

func readJSON(path string, v any) error {
	data, err := files.ReadSidecar(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

func tensorsFloat32(t *tensors.Tensor) ([]float32, []int, error) {
	data, err := tensors.CopyFlatData[float32](t)
	return data, t.Shape().Dimensions, err
}
