package vitnb

import (
	"errors"
	"fmt"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/support/exceptions"
)

// Inspector runs a model in inference mode and returns, with the logits, the attention weights of every block:
// what the notebooks and `vit attention` draw.
type Inspector struct {
	cfg  Config
	exec *model.Exec
	// host tells whether the backend computes in the host's memory (checked by Run).
	host bool
}

// NewInspector prepares the model cfg with the variables in store (at the root scope) on backend b. A model that
// does not fit in the machine's memory (Config.CheckMemoryOn, for one image) is an error.
func NewInspector(b compute.Backend, store *model.Store, cfg Config) (*Inspector, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := cfg.CheckMemoryOn(b, 1, false); err != nil {
		return nil, err
	}
	switch {
	case b == nil:
		return nil, errors.New("inspect: no backend (nil)")
	case store == nil:
		return nil, errors.New("inspect: no store for the variables (nil): pass model.NewStore() for random ones")
	}
	if err := CheckDType(b, cfg); err != nil {
		return nil, err
	}
	in := &Inspector{cfg: cfg, host: b == nil || !onAccelerator(b)}
	err := exceptions.TryCatch[error](func() {
		in.exec = model.MustNewExec(b, store, func(scope *model.Scope, images *Node) []*Node {
			out := Forward(scope, cfg, images, ForwardOptions{ReturnAttention: true})
			nodes := append([]*Node{out.Logits}, out.Attention...)
			for i, n := range nodes {
				nodes[i] = ConvertDType(n, dtypes.Float32) // float32 under mixed precision too
			}
			return nodes
		})
	})
	return in, err
}

// Run classifies n images given as one flat NHWC slice in [-1, 1]. It returns logits[image][class] and
// attention[image][block], each a [heads, tokens, tokens] row-major slice. A batch whose activations and
// attention matrices do not fit in the machine's memory (Config.CheckMemory) is an error.
func (in *Inspector) Run(pix []float32, n int) (logits [][]float32, attention [][][]float32, err error) {
	c := in.cfg
	if n <= 0 {
		return nil, nil, fmt.Errorf("inspect: the number of images must be positive, got %d", n)
	}
	if err := CheckInput(pix, c.ImageSize*c.ImageSize*c.Channels, 0); err != nil {
		return nil, nil, fmt.Errorf("inspect: %w", err)
	}
	// The attention weights of every block are returned: n*Depth*Heads*T*T float32, held twice (tensor and copy).
	t := float64(c.NumTokens())
	if err := c.checkMemory(n, false, 2*4*float64(n)*float64(c.Depth)*float64(c.Heads)*t*t); err != nil && in.host {
		return nil, nil, err
	}
	if want := n * c.ImageSize * c.ImageSize * c.Channels; len(pix) != want {
		return nil, nil, fmt.Errorf("inspect: %d values for %d images of %dx%dx%d", len(pix), n, c.ImageSize, c.ImageSize, c.Channels)
	}
	input := tensors.FromFlatDataAndDimensions(pix, n, c.ImageSize, c.ImageSize, c.Channels)
	var outs []*tensors.Tensor
	if err := exceptions.TryCatch[error](func() { outs = in.exec.MustCall(input) }); err != nil {
		return nil, nil, fmt.Errorf("inspect: running model %q: %w", c.Name, PlainBackendError(err))
	}
	flat := tensors.MustCopyFlatData[float32](outs[0])
	for i := range n {
		logits = append(logits, flat[i*c.NumClasses:(i+1)*c.NumClasses])
	}
	per := c.Heads * c.NumTokens() * c.NumTokens()
	attention = make([][][]float32, n)
	for _, o := range outs[1:] {
		w := tensors.MustCopyFlatData[float32](o)
		for i := range n {
			attention[i] = append(attention[i], w[i*per:(i+1)*per])
		}
	}
	return logits, attention, nil
}
