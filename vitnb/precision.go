package vitnb

import (
	"fmt"
	"sync"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/support/exceptions"
)

var dtypeChecks sync.Map // "backend name/dtype/gelu" -> error (nil when supported)

// CheckDType returns an error, naming the backend and the dtype, when backend b cannot run cfg's model in
// cfg.DType: it builds a one-block ViT with cfg's GELU and pooling in that dtype and computes its logits and
// gradients once per backend and dtype. Float32 is always supported. GoMLX's pure-Go backend (compute v0.1.14)
// has no bfloat16 or float16 softmax, so mixed precision needs XLA.
func CheckDType(b compute.Backend, cfg Config) error {
	if cfg.DType == dtypes.Float32 || cfg.DType == dtypes.InvalidDType {
		return nil
	}
	key := fmt.Sprintf("%s/%s/%s/%s", b.Name(), cfg.DType, cfg.GELU, cfg.Pooling)
	if err, ok := dtypeChecks.Load(key); ok {
		if err == nil {
			return nil
		}
		return err.(error)
	}
	probe := Config{Name: "probe", ImageSize: 4, Channels: 1, PatchSize: 2, Width: 4, Depth: 1, Heads: 1, MLPDim: 4,
		NumClasses: 2, Pooling: cfg.Pooling, GELU: cfg.GELU, DType: cfg.DType}.WithDefaults()
	err := exceptions.TryCatch[error](func() {
		store := model.NewStore()
		store.SetParam(model.ParamInitialSeed, int64(1))
		exec := model.MustNewExec(b, store, func(scope *model.Scope, images *Node) []*Node {
			loss := ReduceAllSum(ConvertDType(Logits(scope, probe, images), dtypes.Float32))
			return append([]*Node{loss}, scope.BuildTrainableVariablesGradientsGraph(loss)...)
		})
		for _, t := range exec.MustCall(tensors.FromShape(probeShape(probe))) {
			_ = t.FinalizeAll()
		}
	})
	if err != nil {
		err = fmt.Errorf("backend %s cannot run the model in %s (use float32, or an XLA backend for mixed precision): %w",
			b.Name(), cfg.DType, PlainBackendError(err))
	}
	dtypeChecks.Store(key, err)
	return err
}

func probeShape(c Config) shapes.Shape {
	return shapes.Make(dtypes.Float32, 2, c.ImageSize, c.ImageSize, c.Channels)
}
