package training

import (
	"fmt"
	"io"
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
// dir: see InitFromStore. Optimizer state and step are not carried over. A newest checkpoint that cannot be read
// is skipped for the one before, said on notes.
func InitFromRun(dir string, cfg vitnb.Config, notes io.Writer) func(store *model.Store) error {
	return func(store *model.Store) error {
		src, ck, err := LoadRun(dir)
		if err != nil {
			return err
		}
		if ck.Fallback != "" && notes != nil {
			fmt.Fprintln(notes, ck.Fallback)
		}
		return InitFromStore(src, cfg, dir, notes)(store)
	}
}

// InitFromStore returns a Config.Init that copies the variables of model cfg from src (pretrained weights) into
// the new store. The model variables of src must be exactly those of cfg, with their shapes (CheckModel), but
// for the head: it is left out, and so starts at zero, as the paper's fine-tuning does (Appendix B.1.1: "we remove
// the pre-trained prediction head and attach a zero-initialized D x K feedforward layer"), also when the number of
// classes is the same (Fashion-MNIST's 10 and MNIST's 10 are different classes); the pre-logits layer goes with it
// when cfg has none. A model of fewer blocks than
// src, or of more, is an error naming both depths: it would fine-tune part of the weights, or random ones. from
// names the source in errors; a line about the new head goes to notes (if not nil).
func InitFromStore(src *model.Store, cfg vitnb.Config, from string, notes io.Writer) func(store *model.Store) error {
	return func(store *model.Store) error {
		if store == nil {
			return errNoStore
		}
		copied, err := fineTuneVariables(src, cfg, from)
		if err != nil {
			return err
		}
		for name := range copied {
			value, err := src.GetVariable("/" + name).Value()
			if err != nil {
				return fmt.Errorf("reading %s of %s: %w", name, from, err)
			}
			if _, err := store.CreateVariable("/"+name, value); err != nil {
				return fmt.Errorf("copying %s of %s: %w", name, from, err)
			}
		}
		if notes != nil {
			fmt.Fprintf(notes, "fine-tuning: new zero-initialised head (%d classes) instead of the pretrained one\n",
				cfg.NumClasses)
		}
		return nil
	}
}

// CheckFineTune tells whether a fine-tuning of model cfg can start from the variables of src (InitFromStore's
// rule), so that a caller can refuse before it creates a run folder.
func CheckFineTune(src *model.Store, cfg vitnb.Config, from string) error {
	_, err := fineTuneVariables(src, cfg, from)
	return err
}

// fineTuneVariables returns the variables of cfg that a fine-tuning copies from src: the model variables of src
// must be exactly those of cfg (CheckModel) but for the head (left out, with the pre-logits layer when cfg has
// none), which starts at zero.
func fineTuneVariables(src *model.Store, cfg vitnb.Config, from string) (map[string][]int, error) {
	if src == nil {
		return nil, fmt.Errorf("fine-tuning from %s: %w", from, errNoStore)
	}
	found := ModelShapes(src)
	compared := cfg
	compared.NumClasses = 0
	for name := range found {
		if strings.HasPrefix(name, vitnb.VarHead+"/") ||
			(cfg.RepresentationSize == 0 && strings.HasPrefix(name, vitnb.VarPreLogits+"/")) {
			delete(found, name)
		}
	}
	if err := compared.CheckVariables(found); err != nil {
		return nil, fmt.Errorf("%s is another architecture than the model to fine-tune: %w", from, err)
	}
	return compared.VariableShapes(), nil
}
