package training

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/vitnb/vitnb/vitnb"
	"github.com/vitnb/vitnb/vitnb/files"
)

// ResultsFile is the name of the results file that a training run leaves in its folder (`vit pretrain`,
// `vit finetune`, the notebooks' runs).
const ResultsFile = "results.json"

// Results is what a training or evaluation leaves in a results file: what was trained on what, where, how long
// and how well. `vit pretrain`, `vit finetune` and `vit eval` write it, and so do the notebooks (package nb), so
// that a table can gather runs from the terminal and from notebooks alike (FindResults).
type Results struct {
	// Command is "pretrain" (from scratch), "finetune" (from a vitnb run or pretrained weights) or "eval".
	Command       string          `json:"command"`
	Model         vitnb.Config    `json:"model"`
	Optimizer     OptimizerConfig `json:"optimizer"`
	Data          string          `json:"data"`
	TrainExamples int             `json:"train_examples"`
	EvalSplit     string          `json:"eval_split"`
	// Backend is the backend's configuration, e.g. "xla:cpu" or "xla:cuda".
	Backend string `json:"backend"`
	Steps   int    `json:"steps"`
	Devices int    `json:"devices"`
	// BatchSize is the number of images per optimizer step (with gradient accumulation, of all its batches).
	BatchSize      int     `json:"batch_size"`
	Accumulate     int     `json:"accumulate,omitempty"`
	Augmentation   string  `json:"augmentation"`
	LabelSmoothing float64 `json:"label_smoothing,omitempty"`
	// WallSeconds is the training time of this run (for "eval", of the evaluation).
	WallSeconds     float64  `json:"wall_seconds"`
	ImagesPerSecond float64  `json:"images_per_second"`
	Metrics         *Metrics `json:"metrics"`
	// From is the run folder this run started from (fine-tuning a vitnb run) or, for "eval", the run evaluated.
	From string `json:"from,omitempty"`
	// Weights is the pretrained checkpoint a fine-tuning started from (Google .npz, Hugging Face, timm).
	Weights string `json:"weights,omitempty"`
	// Checkpoint is the checkpoint of the run folder that the results come from: for "eval" the one evaluated
	// (the newest that could be read), for a training the last one it saved. Steps is then its step.
	Checkpoint string `json:"checkpoint,omitempty"`
	// CheckpointFallback says why newer checkpoints of the run were not used ("" when the newest was).
	CheckpointFallback string    `json:"checkpoint_fallback,omitempty"`
	Finished           time.Time `json:"finished"`
}

// ImagesSeen is the number of training images the run processed: steps times images per step (0 for "eval").
func (r *Results) ImagesSeen() int {
	if r.Command == "eval" {
		return 0
	}
	return r.Steps * r.BatchSize
}

// WriteResults writes r as indented JSON to path (atomically), creating its folder.
func WriteResults(path string, r *Results) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("creating the folder of %s: %w", path, err)
	}
	return WriteJSONAtomic(path, r)
}

// MaxResultsSize bounds a results file that ReadResults reads: 256 MiB. The confusion matrix of more than
// DenseConfusionMax classes is stored sparse (Metrics.ConfusionCells), so a file grows with the examples evaluated:
// about 70 bytes per non-zero cell.
const MaxResultsSize = 256 << 20

// ReadResults reads a results file (at most MaxResultsSize bytes).
func ReadResults(path string) (*Results, error) {
	data, err := files.ReadLimited(path, MaxResultsSize)
	if err != nil {
		return nil, fmt.Errorf("reading results: %w", err)
	}
	r := new(Results)
	if err := json.Unmarshal(data, r); err != nil {
		return nil, fmt.Errorf("%s is not a results file: %w", path, err)
	}
	if r.Command == "" || r.Metrics == nil {
		return nil, fmt.Errorf("%s is not a results file: no command or no metrics", path)
	}
	if err := r.Metrics.check(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return r, nil
}

// EvalResultsFile is where `vit eval` writes the results of evaluating the final checkpoint of the run in dir on a
// split of a data set: DIR/results-eval-DATA-SPLIT.json (FindResults reads it: the notebooks' benchmark table).
// With step > 0, for a checkpoint that is not the run's final one (an evaluation during training, or of an older
// checkpoint): DIR/results-eval-DATA-SPLIT-step-N.json, so that it does not replace the final one's.
func EvalResultsFile(dir, data, split string, step int) string {
	n := strings.NewReplacer("/", "_", ":", "_").Replace(data)
	if step > 0 {
		return filepath.Join(dir, fmt.Sprintf("results-eval-%s-%s-step-%d.json", n, split, step))
	}
	return filepath.Join(dir, fmt.Sprintf("results-eval-%s-%s.json", n, split))
}

// IsResultsFile reports whether a file name is one that FindResults reads: results.json, or results-*.json
// (what `vit eval -results` and `vit pretrain -results` name by default or by choice).
func IsResultsFile(name string) bool {
	return name == ResultsFile || (strings.HasPrefix(name, "results-") && strings.HasSuffix(name, ".json"))
}

// FoundResults is a results file found by FindResults.
type FoundResults struct {
	// Path of the file; Dir is its folder (the run folder).
	Path, Dir string
	*Results
}

// FindResults walks the folders roots (missing ones are skipped) and reads every results file in them and below
// (IsResultsFile), ordered by path. Files that cannot be read or parsed do not stop the walk: they are returned
// in skipped, each error naming its file.
func FindResults(roots ...string) (found []FoundResults, skipped []error, err error) {
	seen := map[string]bool{}
	for _, root := range roots {
		abs, err := filepath.Abs(root)
		if err != nil {
			return nil, nil, fmt.Errorf("results folder %s: %w", root, err)
		}
		if _, err := os.Stat(abs); errors.Is(err, fs.ErrNotExist) {
			continue
		}
		err = filepath.WalkDir(abs, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				skipped = append(skipped, err)
				if d != nil && d.IsDir() {
					return fs.SkipDir
				}
				return nil
			}
			if d.IsDir() {
				if name := d.Name(); path != abs && (strings.HasPrefix(name, ".") || name == "node_modules") {
					return fs.SkipDir
				}
				return nil
			}
			if !IsResultsFile(d.Name()) || seen[path] {
				return nil
			}
			seen[path] = true
			r, err := ReadResults(path)
			if err != nil {
				skipped = append(skipped, err)
				return nil
			}
			found = append(found, FoundResults{Path: path, Dir: filepath.Dir(path), Results: r})
			return nil
		})
		if err != nil {
			return nil, nil, fmt.Errorf("searching %s for results: %w", root, err)
		}
	}
	sort.Slice(found, func(i, j int) bool { return found[i].Path < found[j].Path })
	return found, skipped, nil
}
