package training

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/model/checkpoint"
	"github.com/gomlx/gomlx/ml/train/optimizer"
)

// checkpoints writes GoMLX checkpoints atomically: GoMLX's handler writes its .bin and .json files in place, so
// a run killed while saving would leave a truncated newest checkpoint. Here each checkpoint is written into the
// staging folder ".staging" and then renamed into the directory, data file first and metadata (.json, which is
// what GoMLX lists) last. A checkpoint is thus either complete or absent; stale staging files are removed.
type checkpoints struct {
	dir, staging string
	keep         int
	handler      *checkpoint.Handler
}

func openCheckpoints(dir string, keep int) (*checkpoints, error) {
	staging := filepath.Join(dir, ".staging")
	if err := os.RemoveAll(staging); err != nil {
		return nil, fmt.Errorf("cleaning %s: %w", staging, err)
	}
	if err := os.MkdirAll(staging, 0o755); err != nil {
		return nil, fmt.Errorf("creating the checkpoint directory: %w", err)
	}
	return &checkpoints{dir: dir, staging: staging, keep: keep}, nil
}

// list returns the base names of the complete checkpoints, oldest first.
func (c *checkpoints) list() ([]string, error) {
	entries, err := os.ReadDir(c.dir)
	if err != nil {
		return nil, fmt.Errorf("listing checkpoints in %s: %w", c.dir, err)
	}
	var names []string
	for _, e := range entries {
		if base, ok := strings.CutSuffix(e.Name(), checkpoint.JsonNameSuffix); ok && strings.HasPrefix(base, "checkpoint-") {
			names = append(names, base)
		}
	}
	sort.Strings(names) // Names sort by step (see save).
	return names, nil
}

func (c *checkpoints) has() (bool, error) {
	names, err := c.list()
	return len(names) > 0, err
}

// load reads the newest checkpoint into store (every variable: model, optimizer state, global step).
func (c *checkpoints) load(store *model.Store) error {
	_, err := checkpoint.Build(store).Dir(c.dir).Immediate().ExcludeAllParams().Done()
	if err != nil {
		return fmt.Errorf("loading the last checkpoint of %s: %w", c.dir, err)
	}
	return nil
}

// save writes the store as a new checkpoint and keeps the newest c.keep. It refuses to save weights that are
// not finite: a diverged run must never replace a good checkpoint.
func (c *checkpoints) save(store *model.Store) error {
	if err := checkFinite(store); err != nil {
		return err
	}
	if c.handler == nil {
		h, err := checkpoint.Build(store).Dir(c.staging).ExcludeAllParams().Keep(-1).Done()
		if err != nil {
			return fmt.Errorf("preparing checkpoints in %s: %w", c.staging, err)
		}
		c.handler = h
	}
	if err := c.handler.Save(); err != nil {
		return fmt.Errorf("saving a checkpoint: %w", err)
	}
	staged, err := os.ReadDir(c.staging)
	if err != nil {
		return err
	}
	// Data files first, metadata last: the checkpoint becomes visible only when complete.
	sort.Slice(staged, func(i, j int) bool {
		return !strings.HasSuffix(staged[i].Name(), checkpoint.JsonNameSuffix) &&
			strings.HasSuffix(staged[j].Name(), checkpoint.JsonNameSuffix)
	})
	// Published names carry the global step where GoMLX puts its counter, so that they sort (and GoMLX loads the
	// newest) by step across resumed runs.
	step := optimizer.GetGlobalStep(store)
	for _, e := range staged {
		name := fmt.Sprintf("checkpoint-n%07d-step-%08d%s", step, step, filepath.Ext(e.Name()))
		if err := os.Rename(filepath.Join(c.staging, e.Name()), filepath.Join(c.dir, name)); err != nil {
			return fmt.Errorf("publishing checkpoint %s: %w", e.Name(), err)
		}
	}
	names, err := c.list()
	if err != nil {
		return err
	}
	for len(names) > c.keep {
		old := filepath.Join(c.dir, names[0])
		if err := os.Remove(old + checkpoint.JsonNameSuffix); err != nil {
			return err
		}
		_ = os.Remove(old + checkpoint.BinDataSuffix)
		names = names[1:]
	}
	return nil
}

// checkFinite returns an error naming the first trainable variable with a NaN or infinite value.
func checkFinite(store *model.Store) error {
	for v := range store.IterVariables() {
		if !v.Trainable || v.DType() != dtypes.Float32 {
			continue
		}
		for i, x := range tensors.MustCopyFlatData[float32](v.MustValue()) {
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
				return fmt.Errorf("weights diverged at step %d (%s[%d] = %g): not saving a checkpoint; lower the learning rate or clip gradients",
					optimizer.GetGlobalStep(store), v.Path(), i, x)
			}
		}
	}
	return nil
}

// LoadRun returns a store holding the newest checkpoint of a run folder: the model's variables (with the
// optimizer state and step). Hyperparameters stored in the checkpoint are left out.
func LoadRun(dir string) (*model.Store, error) {
	store := model.NewStore()
	if _, err := checkpoint.Build(store).Dir(dir).Immediate().ExcludeAllParams().Done(); err != nil {
		return nil, fmt.Errorf("loading the run %s: %w", dir, err)
	}
	return store, nil
}
