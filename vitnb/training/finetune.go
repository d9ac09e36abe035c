package training

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/gomlx/gomlx/ml/model"

	"github.com/vitnb/vitnb/vitnb"
)

// DefaultPretraining is what `vit pretrain` runs without flags and what the notebooks' runs start from: the
// paper's optimizer (Section 4.1 and Appendix B.1: Adam with β1 0.9 and β2 0.999, gradients clipped at global norm
// 1) scaled to small models on a CPU: peak rate 1e-3, weight decay 0.05 sparing biases, norms and embeddings (timm's
// and DeiT's choice for small data; the paper decays everything), 200 warm-up steps, cosine decay over 2000 steps.
func DefaultPretraining() OptimizerConfig {
	return OptimizerConfig{Kind: "adamw", LearningRate: 1e-3, WarmupSteps: 200, TotalSteps: 2000, Decay: "cosine",
		WeightDecay: 0.05, ClipNorm: 1}
}

// FineTuneLearningRate is the fine-tuning learning rate of PaperFineTuning: 0.01, the middle of the paper's
// sweep {0.001, 0.003, 0.01, 0.03} (Appendix B.1.1).
const FineTuneLearningRate = 0.01

// PaperFineTuning is the paper's fine-tuning recipe (Appendix B.1.1) for a run of steps: SGD with momentum 0.9,
// no weight decay, gradients clipped at global norm 1, a linear warm-up of warmup steps then cosine decay to 0,
// peak rate FineTuneLearningRate. Together with a new zero-initialised head (InitFromRun, InitFromStore) it is
// what `vit finetune` and the notebooks run.
func PaperFineTuning(steps, warmup int) OptimizerConfig {
	return OptimizerConfig{Kind: "sgd", LearningRate: FineTuneLearningRate, WarmupSteps: warmup, TotalSteps: steps,
		Decay: "cosine", ClipNorm: 1}
}

// InitFromRun returns a Config.Init that starts a fine-tuning from the newest checkpoint of the vitnb run folder
// dir: see InitFromStore. Optimizer state and step are not carried over.
func InitFromRun(dir string, cfg vitnb.Config, notes io.Writer) func(store *model.Store) error {
	return func(store *model.Store) error {
		src, err := LoadRun(dir)
		if err != nil {
			return err
		}
		return InitFromStore(src, cfg, dir, notes)(store)
	}
}

// InitFromStore returns a Config.Init that copies the variables of model cfg from src (pretrained weights) into
// the new store: every model variable, with the same shape, except the head, which is left out and so starts at
// zero, as the paper's fine-tuning does (Appendix B.1.1: "we remove the pre-trained prediction head and attach a
// zero-initialized D x K feedforward layer"), also when the number of classes is the same (Fashion-MNIST's 10 and
// MNIST's 10 are different classes). from names the source in errors; a line goes to notes (if not nil).
func InitFromStore(src *model.Store, cfg vitnb.Config, from string, notes io.Writer) func(store *model.Store) error {
	return func(store *model.Store) error {
		var dropped []string
		for name, dims := range cfg.VariableShapes() {
			if strings.HasPrefix(name, vitnb.VarHead+"/") {
				dropped = append(dropped, name) // the head starts at zero
				continue
			}
			v := src.GetVariable("/" + name)
			if v == nil {
				return fmt.Errorf("%s has no variable %s: is it a vitnb ViT?", from, name)
			}
			if !slices.Equal(v.Shape().Dimensions, dims) {
				return fmt.Errorf("%s has %s of shape %v, the model needs %v: another architecture or resolution",
					from, name, v.Shape().Dimensions, dims)
			}
			value, err := v.Value()
			if err != nil {
				return fmt.Errorf("reading %s of %s: %w", name, from, err)
			}
			if _, err := store.CreateVariable("/"+name, value); err != nil {
				return fmt.Errorf("copying %s of %s: %w", name, from, err)
			}
		}
		if len(dropped) > 0 && notes != nil {
			fmt.Fprintf(notes, "fine-tuning: new zero-initialised head (%d classes) instead of the pretrained one\n",
				cfg.NumClasses)
		}
		return nil
	}
}
