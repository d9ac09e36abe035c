package vitnb

import (
	"fmt"
	"math"
	"math/bits"
	"strings"

	"github.com/gomlx/compute"

	"github.com/vitnb/vitnb/vitnb/backend"
	"github.com/vitnb/vitnb/vitnb/files"
)

// ParamCount returns the number of parameters of the model (NumParams) with checked arithmetic: an error, instead
// of a wrapped-around negative total, when a size is so large that the count does not fit in an int64.
func (c Config) ParamCount() (int64, error) {
	var total uint64
	for name, shape := range c.VariableShapes() {
		n := uint64(1)
		for _, d := range shape {
			if d < 0 {
				return 0, fmt.Errorf("vit config %q: variable %s has a negative dimension %v", c.Name, name, shape)
			}
			hi, lo := bits.Mul64(n, uint64(d))
			if hi != 0 {
				return 0, c.tooManyParams()
			}
			n = lo
		}
		var carry uint64
		total, carry = bits.Add64(total, n, 0)
		if carry != 0 {
			return 0, c.tooManyParams()
		}
	}
	if total > math.MaxInt64 {
		return 0, c.tooManyParams()
	}
	return int64(total), nil
}

func (c Config) tooManyParams() error {
	return fmt.Errorf("vit config %q: width %d, depth %d, mlp dim %d, %d tokens and %d classes give more than %d parameters (the count overflows 64 bits)",
		c.Name, c.Width, c.Depth, c.MLPDim, c.NumTokens(), c.NumClasses, int64(math.MaxInt64))
}

// MemoryEstimate is the memory that running a model takes, in bytes, by part.
type MemoryEstimate struct {
	// Params is the memory of the variables (ParamDType).
	Params float64
	// Optimizer is, in training, the gradients and Adam's two moments (3 times Params); 0 in inference.
	Optimizer float64
	// Activations is the peak of the intermediate tensors (see EstimateMemory).
	Activations float64
}

// Total returns the sum of the parts.
func (m MemoryEstimate) Total() float64 { return m.Params + m.Optimizer + m.Activations }

// String returns "12.3 GB (parameters 1.2 GB, optimizer 3.6 GB, activations 7.5 GB)".
func (m MemoryEstimate) String() string {
	s := fmt.Sprintf("%s (parameters %s", FormatBytes(m.Total()), FormatBytes(m.Params))
	if m.Optimizer > 0 {
		s += ", gradients and optimizer state " + FormatBytes(m.Optimizer)
	}
	return s + ", activations " + FormatBytes(m.Activations) + ")"
}

// FormatBytes writes a byte count in decimal units: "512 B", "1.5 MB", "12.3 GB" (files.FormatBytes).
func FormatBytes(b float64) string { return files.FormatBytes(b) }

// EstimateMemory estimates the memory a batch of images takes through the model, in inference or training. It
// counts in float64 (no overflow, whatever the sizes) and is meant to catch sizes that cannot fit, not to budget
// to the byte. With B the batch, T tokens, D width, H heads, M the MLP dim and s the size of DType:
//   - parameters: NumParams in ParamDType;
//   - training adds the gradients and Adam's two moments, 3 more copies of the parameters in ParamDType;
//   - inference activations: the input images, then one block at a time (XLA and the Go backend free a block's
//     intermediates before the next): B*s*(6*T*D + 2*H*T*T + 2*T*M), i.e. the residual stream, LayerNorm output,
//     query, key, value and attention output, the attention scores and their softmax (H*T*T each: the matrices
//     that dominate at high resolution), and the MLP hidden layer before and after GELU;
//   - training activations: every block keeps what its backward pass needs, B*s*(14*T*D + 2*H*T*T + 3*T*M) (the
//     above plus the LayerNorm inputs, the heads-first copies of query, key, value and output, the projections,
//     the residual sums and the GELU's inner values), and the backward pass of one block needs as much again.
//
// This is the live data. Measured on the Go backend (tiny32, 2026-11-25): training at batch 128 estimated 1.3 GB,
// peak RSS 2.3 GB; inference at batch 256 estimated 0.22 GB, peak RSS 0.41 GB: Go's collector lets the heap grow
// to about twice the live data (GOGC=100) before collecting, so the peak RSS is up to twice the estimate.
func (c Config) EstimateMemory(batch int, training bool) MemoryEstimate {
	p, s := 4.0, 4.0 // an invalid dtype (which Validate refuses) has no size: count float32
	if c.DType.IsFloat() {
		p, s = float64(c.ParamDType().Size()), float64(c.DType.Size())
	}
	var params float64
	for _, shape := range c.VariableShapes() {
		n := 1.0
		for _, d := range shape {
			n *= float64(d)
		}
		params += n
	}
	b, t, d := float64(max(batch, 1)), float64(c.NumTokens()), float64(c.Width)
	h, m := float64(c.Heads), float64(c.MLPDim)
	images := c.InputBytes(batch)
	block := b * s * (6*t*d + 2*h*t*t + 2*t*m)
	est := MemoryEstimate{Params: params * p, Activations: images + block}
	if training {
		est.Optimizer = 3 * params * p
		saved := b * s * (14*t*d + 2*h*t*t + 3*t*m)
		est.Activations = images + float64(c.Depth+1)*saved
	}
	return est
}

// InputBytes is the size of a batch of model input, [batch, ImageSize, ImageSize, Channels] float32, in float64
// (no overflow): part of EstimateMemory's activations, and what preprocessing allocates on the host.
func (c Config) InputBytes(batch int) float64 {
	return float64(max(batch, 1)) * float64(c.ImageSize) * float64(c.ImageSize) * float64(c.Channels) * 4
}

// MaxBatch is the largest batch Batch chooses: beyond it inference is no faster per image on CPU (tiny32 on the
// Go backend runs at its best from batch 256, docs/RESULTS.md).
const MaxBatch = 256

// BatchBudget is the memory, in bytes, that the activations of a batch chosen by Batch may take: 256 MB, or a
// quarter of the available memory where that is less.
const BatchBudget = 256e6

// Batch returns the batch size in which to run n images (n <= 0: as many as come) through the model on backend b
// (nil: as the Go backend): the largest at most MaxBatch (and n) whose activations (EstimateMemoryOn) plus extra
// bytes per image fit in BatchBudget, at least 1. Among batch sizes that need as many batches, it returns the
// smallest, so that the batches of n images are as even as can be (a last batch much smaller than the others costs
// one more compilation). The images of a predict, an evaluation or an attention picture stream through in such
// batches, so their memory does not grow with their number (Ti/16 at 224 pixels on the Go backend: batches of 56,
// where 1,000 photos in one batch passed 7.5 GB).
func (c Config) Batch(b compute.Backend, n int, training bool, extra float64) int {
	budget := float64(BatchBudget)
	if avail, _, ok := files.HostMemory(); ok {
		budget = min(budget, float64(avail)/4)
	}
	perImage := c.EstimateMemoryOn(b, 2, training).Activations - c.EstimateMemoryOn(b, 1, training).Activations + extra
	batch := MaxBatch
	if perImage > 0 {
		batch = int(min(float64(MaxBatch), max(1, math.Floor(budget/perImage))))
	}
	if n > 0 && n < batch {
		batch = n
	}
	if n > batch {
		batches := (n + batch - 1) / batch
		batch = (n + batches - 1) / batches
	}
	return batch
}

// Measured factors between the peak memory of inference (the growth of the process's VmHWM) and the live data that
// EstimateMemory counts, by backend (AMD EPYC Zen 4, GoMLX v0.28.16, 2026-12):
//   - goHeapFactor: Go's collector and the backend's buffer pools let the heap reach 1.6-2.4 times the live data
//     when batches stream through (TestPredictMemoryPeak: Ti/16 blocks at 224 pixels in batches of 64, fused
//     attention: 348-416 MB against 174 MB live, from one run to the next; 208-269 MB for a single batch;
//     decomposed: 382-474 MB and 291-331 MB);
//   - xlaCPUFactor: XLA's CPU plugin holds about 2.4 times the live data (`vit predict -preset Ti/16`: 8.2-9.1 MB
//     per image against 3.65 MB estimated, 2.43 GB for 250 images).
const (
	goHeapFactor = 2.3
	xlaCPUFactor = 2.4
)

// EstimateMemoryOn is EstimateMemory for the backend that runs the model (nil: the Go backend): in inference, the
// activations are what that backend measured holds (goHeapFactor, xlaCPUFactor); on an accelerator, and in
// training, the live data of EstimateMemory.
func (c Config) EstimateMemoryOn(b compute.Backend, batch int, training bool) MemoryEstimate {
	est := c.EstimateMemory(batch, training)
	if training || (b != nil && onAccelerator(b)) {
		return est
	}
	if b != nil && strings.HasPrefix(b.Name(), "xla") {
		est.Activations *= xlaCPUFactor
		return est
	}
	bt, t, d, m := float64(max(batch, 1)), float64(c.NumTokens()), float64(c.Width), float64(c.MLPDim)
	s := float64(c.DType.Size())
	if s == 0 {
		s = 4
	}
	live := c.InputBytes(batch) + bt*s*(6*t*d+2*t*m)
	if b == nil || attentionMatrices(b) {
		// The decomposed attention (backend.AttentionFor) holds one block's attention matrices at a time
		// (TestPredictMemoryPeak measured about one [batch, heads, tokens, tokens] array more than fused).
		live += bt * float64(c.Heads) * t * t * s
	}
	est.Activations = goHeapFactor * live
	return est
}

// attentionMatrices tells whether the model materialises its attention matrices in inference on b: when it
// computes attention decomposed (backend.AttentionFor), as the Go backend does by default.
func attentionMatrices(b compute.Backend) bool {
	a, _, err := backend.AttentionFor(b, backend.AttentionAuto)
	return err != nil || a == backend.AttentionDecomposed
}

// MemoryCheckEnv is the environment variable that turns CheckMemory off when set to 1 (for a machine whose
// memory the checks misread, or an accelerator whose memory is not the host's); it turns off the image decoder's
// memory check too (files.NoMemoryCheckEnv).
const MemoryCheckEnv = files.NoMemoryCheckEnv

// CheckMemory returns an error when running the model on a batch (in training or inference) needs more memory
// than the machine has available (AvailableMemory), before anything is allocated: one line with the estimate,
// its parts and what is available. The count of parameters must fit in 64 bits (ParamCount). Setting
// VITNB_NO_MEMORY_CHECK=1 skips the comparison with the machine's memory.
func (c Config) CheckMemory(batch int, training bool) error {
	return c.checkMemory(batch, training, 0)
}

// CheckMemoryOn is CheckMemory for the backend that will run the model: on an accelerator (CUDA, ROCm, TPU,
// Metal: the backend's name or description says so) the activations and weights live in the device's memory,
// which the host's /proc/meminfo does not describe, so only the parameter count is checked there, and that the
// batch of input images fits in the host's memory, where it is built before it is sent to the device.
func (c Config) CheckMemoryOn(b compute.Backend, batch int, training bool) error {
	if b != nil && onAccelerator(b) {
		if _, err := c.ParamCount(); err != nil {
			return err
		}
		return checkHost(c.InputBytes(batch), fmt.Sprintf("model %s: the input, %d images of %dx%dx%d float32 on the host,",
			c.Name, max(batch, 1), c.ImageSize, c.ImageSize, c.Channels), "use a smaller batch or image size")
	}
	if _, err := c.ParamCount(); err != nil {
		return err
	}
	avail, source, ok := files.HostMemory()
	if !ok {
		return nil
	}
	return c.estimateAgainst(c.EstimateMemoryOn(b, batch, training), batch, training, avail, source)
}

// CheckParamsMemory returns an error when the parameters alone need more than the host's available memory
// (AvailableMemory): what reading a checkpoint holds there whatever the backend, checked before its tensors are
// read or its position embeddings resampled to another image size. VITNB_NO_MEMORY_CHECK=1 skips it.
func (c Config) CheckParamsMemory() error {
	n, err := c.ParamCount()
	if err != nil {
		return err
	}
	return checkHost(c.EstimateMemory(1, false).Params, fmt.Sprintf("model %s (width %d, depth %d, %d tokens): its %d parameters",
		c.Name, c.Width, c.Depth, c.NumTokens(), n), "use a smaller model or image size")
}

// checkHost returns an error, in one line, when need bytes (what describes them) exceed the host's available
// memory; advice says what to change.
func checkHost(need float64, what, advice string) error {
	avail, source, ok := files.HostMemory()
	if !ok {
		return nil
	}
	return files.NotEnoughMemory(need, avail, source, what, advice)
}

// onAccelerator tells whether a backend computes outside the host's memory.
func onAccelerator(b compute.Backend) bool {
	s := strings.ToLower(b.Name() + " " + b.Description())
	for _, k := range []string{"cuda", "gpu", "rocm", "tpu", "metal"} {
		if strings.Contains(s, k) {
			return true
		}
	}
	return false
}

// checkMemory is CheckMemory with extra bytes (outputs the caller keeps) added to the activations.
func (c Config) checkMemory(batch int, training bool, extra float64) error {
	if _, err := c.ParamCount(); err != nil {
		return err
	}
	avail, source, ok := files.HostMemory()
	if !ok {
		return nil
	}
	return c.checkMemoryAgainst(batch, training, extra, avail, source)
}

func (c Config) checkMemoryAgainst(batch int, training bool, extra float64, avail uint64, source string) error {
	est := c.EstimateMemory(batch, training)
	est.Activations += extra
	return c.estimateAgainst(est, batch, training, avail, source)
}

// estimateAgainst is the error of a memory check: nil when est fits in avail bytes.
func (c Config) estimateAgainst(est MemoryEstimate, batch int, training bool, avail uint64, source string) error {
	if est.Total() <= float64(avail) {
		return nil
	}
	mode := "inference"
	if training {
		mode = "training"
	}
	return fmt.Errorf("model %s (width %d, depth %d, %d tokens) at batch %d needs about %s for %s, more than the %s available (%s); use a smaller model or batch (%s=1 skips this check)",
		c.Name, c.Width, c.Depth, c.NumTokens(), max(batch, 1), est, mode, FormatBytes(float64(avail)), source, MemoryCheckEnv)
}

// AvailableMemory returns the memory this process can still allocate, in bytes, and where the figure comes from
// (files.AvailableMemory: MemAvailable of /proc/meminfo, lowered to the room left under a cgroup limit).
func AvailableMemory() (uint64, string, error) { return files.AvailableMemory() }
