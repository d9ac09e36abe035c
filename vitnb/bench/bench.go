// Package bench measures how fast vitnb trains and infers: images per second of training steps (forward,
// backward, AdamW update) or forward passes of a model on random images, the FLOP rate that gives, the CPU's nominal
// float32 peak and the backend's matrix-product ceiling. `vit bench` prints its Result; README's speed tables and
// docs/RESULTS.md come from it.
package bench

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gomlx/compute"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/train"

	"github.com/vitnb/vitnb/vitnb"
	"github.com/vitnb/vitnb/vitnb/backend"
	"github.com/vitnb/vitnb/vitnb/files"
	"github.com/vitnb/vitnb/vitnb/training"
)

// Options of a benchmark run.
type Options struct {
	// Mode is "train" (forward, backward and AdamW update, as vit pretrain) or "infer" (forward only).
	Mode string
	// Batch is the number of images per step; Devices splits training steps over that many XLA devices.
	Batch, Devices int
	// Warmup steps run after compilation and before timing; then at least MinSteps steps and MinTime are timed.
	Warmup, MinSteps int
	MinTime          time.Duration
	// Matmul, when above 0, also gives the throughput of a Matmul x Matmul float32 matrix product on the backend,
	// the practical ceiling of the model's products: measured once per machine and backend (MatmulCeiling).
	Matmul int
	// CPUProfile, if set, receives a pprof CPU profile of the timed steps; else CPUProfilePath, if set, names a
	// file that Run creates for it.
	CPUProfile     io.Writer
	CPUProfilePath string
	// BackendName names the backend in the result, e.g. "xla:cpu" (default b.Name()).
	BackendName string
}

// Result is what a benchmark measured (`vit bench -json` prints it).
type Result struct {
	Preset         string  `json:"preset"`
	Mode           string  `json:"mode"`
	Batch          int     `json:"batch"`
	Devices        int     `json:"devices"`
	DType          string  `json:"dtype"`
	Backend        string  `json:"backend"`
	CompileSeconds float64 `json:"compile_seconds"`
	Steps          int     `json:"steps"`
	StepSeconds    float64 `json:"step_seconds"`
	// CPUStepSeconds is the CPU time (user and system, all threads) of the process per timed step: on a machine
	// shared with other jobs it grows far less than StepSeconds, so it compares runs made under different loads.
	CPUStepSeconds    float64 `json:"cpu_step_seconds"`
	ImagesPerSecond   float64 `json:"images_per_second"`
	GFLOPs            float64 `json:"gflops"`
	FLOPsPerImage     int64   `json:"flops_per_image"`
	PeakRSSMegabytes  float64 `json:"peak_rss_megabytes"`
	CPUs              int     `json:"cpus"`
	SIMDBuild         bool    `json:"simd_build"`
	FLOPsCountingNote string  `json:"flops_counting"`
	// PeakGFLOPs is the CPU's nominal float32 peak (CPUPeak), PeakNote how it was computed, and FractionOfPeak
	// is GFLOPs / PeakGFLOPs; 0 on GPUs and where the peak is unknown.
	PeakGFLOPs     float64 `json:"peak_gflops,omitempty"`
	PeakNote       string  `json:"peak,omitempty"`
	FractionOfPeak float64 `json:"fraction_of_peak,omitempty"`
	// MatmulGFLOPs (with Options.Matmul) is the measured float32 throughput of a large matrix product, and
	// MatmulMeasured when it was measured if it came from CeilingFile (zero: measured in this run).
	MatmulGFLOPs   float64   `json:"matmul_gflops,omitempty"`
	Matmul         int       `json:"matmul,omitempty"`
	MatmulMeasured time.Time `json:"matmul_measured,omitzero"`
	// Attention is the attention formulation the model ran ("fused" or "decomposed", backend.AttentionFor) and
	// AttentionWhy the reason.
	Attention    string `json:"attention"`
	AttentionWhy string `json:"attention_why"`
}

// Validate checks the options and names the first that is wrong (as the flags of `vit bench`, which reports
// these errors as usage errors).
func (o Options) Validate() error {
	switch {
	case o.Mode != "train" && o.Mode != "infer":
		return fmt.Errorf("-mode must be train or infer, got %q", o.Mode)
	case o.Batch <= 0 || o.MinSteps <= 0 || o.Warmup < 0 || o.MinTime < 0 || o.Matmul < 0 || o.Matmul > 16384:
		return fmt.Errorf("-batch and -steps must be positive, -warmup and -time not negative, -matmul in [0, 16384]")
	case o.Devices < 1 || o.Batch%o.Devices != 0 || (o.Devices > 1 && o.Mode != "train"):
		return fmt.Errorf("-devices %d: want a positive number of devices that divides -batch %d, and -mode train for "+
			"more than one", o.Devices, o.Batch)
	}
	return nil
}

// Run benchmarks the model cfg with random weights on b (Devices 0 counts as 1).
func Run(b compute.Backend, cfg vitnb.Config, opts Options) (*Result, error) {
	opts.Devices = max(opts.Devices, 1)
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if err := cfg.CheckMemoryOn(b, opts.Batch, opts.Mode == "train"); err != nil {
		return nil, err
	}
	// The profile is gathered in memory (some kB) and written at the end, so that a failed write is an error
	// (pprof ignores them) and a file of the user's is replaced only by a whole profile (files.WriteAtomic).
	var profile *bytes.Buffer
	if opts.CPUProfile != nil || opts.CPUProfilePath != "" {
		profile = &bytes.Buffer{}
	}
	attention, attentionWhy, err := backend.AttentionFor(b, backend.AttentionAuto)
	if err != nil {
		return nil, err
	}
	step, err := newStep(b, cfg, opts.Batch, opts.Mode, opts.Devices)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	if err := step(); err != nil { // The first step compiles.
		return nil, err
	}
	compile := time.Since(start)
	for range opts.Warmup {
		if err := step(); err != nil {
			return nil, err
		}
	}
	if profile != nil {
		if err := pprof.StartCPUProfile(profile); err != nil {
			return nil, fmt.Errorf("CPU profile: %w", err)
		}
	}
	steps, cpuStart := 0, cpuTime()
	start = time.Now()
	for steps < opts.MinSteps || time.Since(start) < opts.MinTime {
		if err := step(); err != nil {
			return nil, err
		}
		steps++
	}
	elapsed, cpu := time.Since(start), cpuTime()-cpuStart
	if profile != nil {
		pprof.StopCPUProfile()
		if err := writeProfile(profile.Bytes(), opts); err != nil {
			return nil, err
		}
	}
	flops := cfg.FLOPs()
	factor := 1.0
	if opts.Mode == "train" {
		factor = 3 // Backward pass about twice the forward (gradients of activations and of weights).
	}
	r := &Result{
		Preset: cfg.Name, Mode: opts.Mode, Batch: opts.Batch, Devices: opts.Devices, DType: cfg.DType.String(),
		Backend: opts.BackendName, CompileSeconds: compile.Seconds(), Steps: steps,
		StepSeconds: elapsed.Seconds() / float64(steps), CPUStepSeconds: cpu.Seconds() / float64(steps), FLOPsPerImage: flops, PeakRSSMegabytes: PeakRSS(),
		CPUs: runtime.NumCPU(), SIMDBuild: backend.SIMDBuild, Matmul: opts.Matmul, Attention: string(attention),
		AttentionWhy:      attentionWhy,
		FLOPsCountingNote: "analytic matmul FLOPs (multiply-add = 2) of vitnb.Config.FLOPs, x3 for training",
	}
	if r.Backend == "" {
		r.Backend = b.Name()
	}
	r.ImagesPerSecond = float64(steps*opts.Batch) / elapsed.Seconds()
	r.GFLOPs = r.ImagesPerSecond * float64(flops) * factor / 1e9
	if !strings.Contains(r.Backend, "cuda") {
		r.PeakGFLOPs, r.PeakNote = CPUPeak()
		if r.PeakGFLOPs > 0 {
			r.FractionOfPeak = r.GFLOPs / r.PeakGFLOPs
		}
	}
	if opts.Matmul > 0 {
		if r.MatmulGFLOPs, r.MatmulMeasured, err = MatmulCeiling(b, r.Backend, opts.Matmul, 3*time.Second); err != nil {
			return nil, fmt.Errorf("matrix-product benchmark: %w", err)
		}
	}
	return r, nil
}

// String is the result in a few lines of text.
func (r *Result) String() string {
	on := r.Backend
	if r.Devices > 1 {
		on = fmt.Sprintf("%s (%d devices)", r.Backend, r.Devices)
	}
	s := fmt.Sprintf("%s %s batch %d %s on %s: %.1f images/s, %.1f GFLOP/s, %.3fs/step (CPU time %.3fs) over %d steps, compile %.1fs, peak RSS %.0f MB\n",
		r.Preset, r.Mode, r.Batch, r.DType, on, r.ImagesPerSecond, r.GFLOPs, r.StepSeconds, r.CPUStepSeconds, r.Steps,
		r.CompileSeconds, r.PeakRSSMegabytes)
	if r.Attention != "" {
		s += fmt.Sprintf("attention %s (%s)\n", r.Attention, r.AttentionWhy)
	}
	if r.PeakGFLOPs > 0 {
		s += fmt.Sprintf("%.1f%% of the CPU's nominal float32 peak of %.0f GFLOP/s (%s)\n", 100*r.FractionOfPeak, r.PeakGFLOPs, r.PeakNote)
	}
	if r.MatmulGFLOPs > 0 {
		when := "measured now"
		if !r.MatmulMeasured.IsZero() {
			when = "measured " + r.MatmulMeasured.Format("2006-01-02") + ", kept in " + CeilingFile()
		}
		s += fmt.Sprintf("ceiling: a %dx%d float32 matrix product runs at %.1f GFLOP/s on this backend (%s); the model reaches %.0f%% of it\n",
			r.Matmul, r.Matmul, r.MatmulGFLOPs, when, 100*r.GFLOPs/r.MatmulGFLOPs)
	}
	return s
}

// newStep returns a function that runs one step on fresh random images: a training step (forward,
// backward and AdamW update, as vit pretrain) or a forward pass.
func newStep(b compute.Backend, cfg vitnb.Config, batch int, mode string, devices int) (func() error, error) {
	rng := rand.New(rand.NewPCG(1, 2))
	images := func() *tensors.Tensor {
		data := make([]float32, batch*cfg.ImageSize*cfg.ImageSize*cfg.Channels)
		for i := range data {
			data[i] = rng.Float32()*2 - 1
		}
		return tensors.FromFlatDataAndDimensions(data, batch, cfg.ImageSize, cfg.ImageSize, cfg.Channels)
	}
	labels := func() *tensors.Tensor {
		l := make([]int32, batch)
		for i := range l {
			l[i] = int32(rng.IntN(max(cfg.NumClasses, 1)))
		}
		return tensors.FromFlatDataAndDimensions(l, batch)
	}
	if err := vitnb.CheckDType(b, cfg); err != nil {
		return nil, err
	}
	store := model.NewStore()
	store.SetParam(model.ParamInitialSeed, int64(1))
	if mode == "infer" {
		exec, err := model.NewExec1(b, store, func(scope *model.Scope, x *graph.Node) *graph.Node {
			return vitnb.Logits(scope, cfg, x)
		})
		if err != nil {
			return nil, err
		}
		return func() error {
			out, err := exec.Call1(images())
			if err != nil {
				return err
			}
			return out.FinalizeAll()
		}, nil
	}
	run, err := training.NewRun(b, training.Config{Model: cfg, BatchSize: batch, Seed: 1, Output: io.Discard, Devices: devices,
		Optimizer: training.OptimizerConfig{Kind: "adamw", LearningRate: 1e-4, WarmupSteps: 1, TotalSteps: 1 << 30,
			WeightDecay: 0.05, ClipNorm: 1}})
	if err != nil {
		return nil, err
	}
	return func() error {
		metrics, err := run.TrainStep(train.Batch{Inputs: []*tensors.Tensor{images()}, Labels: []*tensors.Tensor{labels()}})
		for _, m := range metrics {
			_ = m.FinalizeAll()
		}
		return err
	}, nil
}

// cpuTime returns the CPU time (user and system) this process has used, or 0 where getrusage fails.
func cpuTime() time.Duration {
	var u syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &u) != nil {
		return 0
	}
	return time.Duration(u.Utime.Nano() + u.Stime.Nano())
}

// PeakRSS returns the process's peak resident memory in MB (VmHWM of /proc/self/status), or 0 where unknown.
func PeakRSS() float64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")))
			if err == nil {
				return float64(kb) / 1024
			}
		}
	}
	return 0
}

// writeProfile writes a CPU profile to opts.CPUProfile, else to the file opts.CPUProfilePath (atomically).
func writeProfile(profile []byte, opts Options) error {
	write := func(w io.Writer) error {
		_, err := w.Write(profile)
		return err
	}
	var err error
	if opts.CPUProfile != nil {
		err = write(opts.CPUProfile)
	} else {
		err = files.WriteAtomic(opts.CPUProfilePath, write)
	}
	if err != nil {
		return fmt.Errorf("CPU profile: %w", err)
	}
	return nil
}
