package explain_test

import (
	"fmt"

	"github.com/gomlx/compute"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/vitnb/vitnb/vitnb"
	"github.com/vitnb/vitnb/vitnb/explain"
)

// The three maps of a batch of images, how faithful each is, and the mean attention distance per block and head
// against its baselines. b, store and cfg are a trained model (e.g. nb.Trained's Backend, Store and Config);
// pix holds n images in [-1, 1], NHWC.
func ExampleExplainer() {
	var (
		b     compute.Backend
		store *model.Store
		cfg   vitnb.Config
		pix   []float32
		n     int
	)
	e, err := explain.New(b, store, cfg)
	if err != nil {
		fmt.Println(err)
		return
	}
	ex, err := e.Explain(pix, n, nil) // nil: explain the predicted classes
	if err != nil {
		fmt.Println(err)
		return
	}
	faith, err := e.Faithfulness(pix, n, ex, 1, explain.DeletionOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, m := range append(explain.Methods, explain.MethodRandom) {
		fmt.Printf("%s: deletion area %.3f\n", m, faith[m].MeanAUC)
	}
	prefix := cfg.NumTokens() - cfg.NumPatches() // 1 with a class token
	dist, err := explain.MeanDistances(ex.Attention, prefix, cfg.GridSize(), cfg.PatchSize)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("per block and head %.1f px; uniform %.1f, largest %.1f\n", dist,
		explain.UniformDistance(cfg.GridSize(), cfg.PatchSize), explain.MaxDistance(cfg.GridSize(), cfg.PatchSize))
}
