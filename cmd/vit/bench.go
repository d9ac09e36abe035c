package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/gomlx/compute"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/train"

	"github.com/vitnb/vitnb/vitnb"
	"github.com/vitnb/vitnb/vitnb/backend"
	"github.com/vitnb/vitnb/vitnb/training"
)

func init() {
	commands["bench"] = command{
		summary: "images/s, GFLOP/s and memory of training or inference steps of a preset (random data)",
		run:     runBench,
	}
}

// benchResult is what `vit bench -json` prints.
type benchResult struct {
	Preset            string  `json:"preset"`
	Mode              string  `json:"mode"`
	Batch             int     `json:"batch"`
	Devices           int     `json:"devices"`
	DType             string  `json:"dtype"`
	Backend           string  `json:"backend"`
	CompileSeconds    float64 `json:"compile_seconds"`
	Steps             int     `json:"steps"`
	StepSeconds       float64 `json:"step_seconds"`
	ImagesPerSecond   float64 `json:"images_per_second"`
	GFLOPs            float64 `json:"gflops"`
	FLOPsPerImage     int64   `json:"flops_per_image"`
	PeakRSSMegabytes  float64 `json:"peak_rss_megabytes"`
	CPUs              int     `json:"cpus"`
	SIMDBuild         bool    `json:"simd_build"`
	FLOPsCountingNote string  `json:"flops_counting"`
	// PeakGFLOPs is the CPU's nominal float32 peak (cpuPeak), PeakNote how it was computed, and FractionOfPeak
	// is GFLOPs / PeakGFLOPs; 0 on GPUs and where the peak is unknown.
	PeakGFLOPs     float64 `json:"peak_gflops,omitempty"`
	PeakNote       string  `json:"peak,omitempty"`
	FractionOfPeak float64 `json:"fraction_of_peak,omitempty"`
	// MatmulGFLOPs (with -matmul) is the measured float32 throughput of a large matrix product on the backend.
	MatmulGFLOPs float64 `json:"matmul_gflops,omitempty"`
}

func runBench(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("bench", "-preset P -batch N -mode train|infer [-dtype f32|bf16] [-json]", stderr)
	mf := addModelFlags(fs, true)
	batch := fs.Int("batch", 128, "images per step")
	mode := fs.String("mode", "train", "train (forward, backward, AdamW update) or infer (forward only)")
	warmup := fs.Int("warmup", 3, "steps run after compilation and before timing")
	minSteps := fs.Int("steps", 10, "timed steps, at least")
	minTime := fs.Duration("time", 10*time.Second, "timed duration, at least")
	asJSON := fs.Bool("json", false, "print one JSON object")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile (pprof) of the timed steps to this file")
	matmul := fs.Int("matmul", 0, "also measure an N x N float32 matrix product on the backend, the practical ceiling (e.g. 1024)")
	devices := fs.Int("devices", 1, "train data-parallel on N devices of an XLA backend (-mode train; each batch split N ways)")
	if err := parseFlags(fs, interleave(fs, args)); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageErrorf("unexpected arguments %q", fs.Args())
	}
	if *mode != "train" && *mode != "infer" {
		return usageErrorf("-mode must be train or infer, got %q", *mode)
	}
	if *batch <= 0 || *minSteps <= 0 || *warmup < 0 {
		return usageErrorf("-batch and -steps must be positive and -warmup not negative")
	}
	if *devices < 1 || *batch%*devices != 0 || (*devices > 1 && *mode != "train") {
		return usageErrorf("-devices %d: want a positive number of devices that divides -batch %d, and -mode train for more than one", *devices, *batch)
	}
	cfg, err := mf.config()
	if err != nil {
		return err
	}
	if !backend.SIMDBuild {
		fmt.Fprintln(stderr, "WARNING: built without GOEXPERIMENT=simd: the pure-Go backend runs 13-16x slower")
	}
	b, choice, err := backend.New()
	if err != nil {
		return err
	}
	fmt.Fprintln(stderr, choice)

	step, err := newBenchStep(b, cfg, *batch, *mode, *devices)
	if err != nil {
		return err
	}
	start := time.Now()
	if err := step(); err != nil { // The first step compiles.
		return err
	}
	compile := time.Since(start)
	for range *warmup {
		if err := step(); err != nil {
			return err
		}
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return fmt.Errorf("-cpuprofile: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("-cpuprofile: %w", err)
		}
	}
	steps := 0
	start = time.Now()
	for steps < *minSteps || time.Since(start) < *minTime {
		if err := step(); err != nil {
			return err
		}
		steps++
	}
	elapsed := time.Since(start)
	if *cpuProfile != "" {
		pprof.StopCPUProfile()
		fmt.Fprintf(stderr, "CPU profile of the timed steps written to %s (go tool pprof -top bin/vit %s)\n", *cpuProfile, *cpuProfile)
	}

	flops := cfg.FLOPs()
	factor := 1.0
	if *mode == "train" {
		factor = 3 // Backward pass about twice the forward (gradients of activations and of weights).
	}
	r := benchResult{
		Preset: cfg.Name, Mode: *mode, Batch: *batch, Devices: *devices, DType: cfg.DType.String(), Backend: choice.Config,
		CompileSeconds: compile.Seconds(), Steps: steps, StepSeconds: elapsed.Seconds() / float64(steps),
		FLOPsPerImage: flops, PeakRSSMegabytes: peakRSS(), CPUs: runtime.NumCPU(), SIMDBuild: backend.SIMDBuild,
		FLOPsCountingNote: "analytic matmul FLOPs (multiply-add = 2) of vitnb.Config.FLOPs, x3 for training",
	}
	r.ImagesPerSecond = float64(steps**batch) / elapsed.Seconds()
	r.GFLOPs = r.ImagesPerSecond * float64(flops) * factor / 1e9
	if !strings.Contains(choice.Config, "cuda") {
		r.PeakGFLOPs, r.PeakNote = cpuPeak()
		if r.PeakGFLOPs > 0 {
			r.FractionOfPeak = r.GFLOPs / r.PeakGFLOPs
		}
	}
	if *matmul > 0 {
		if r.MatmulGFLOPs, err = matmulGFLOPs(b, *matmul, 3*time.Second); err != nil {
			return fmt.Errorf("matrix-product benchmark: %w", err)
		}
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(r)
	}
	on := r.Backend
	if r.Devices > 1 {
		on = fmt.Sprintf("%s (%d devices)", r.Backend, r.Devices)
	}
	fmt.Fprintf(stdout, "%s %s batch %d %s on %s: %.1f images/s, %.1f GFLOP/s, %.3fs/step over %d steps, compile %.1fs, peak RSS %.0f MB\n",
		r.Preset, r.Mode, r.Batch, r.DType, on, r.ImagesPerSecond, r.GFLOPs, r.StepSeconds, r.Steps,
		r.CompileSeconds, r.PeakRSSMegabytes)
	if r.PeakGFLOPs > 0 {
		fmt.Fprintf(stdout, "%.1f%% of the CPU's nominal float32 peak of %.0f GFLOP/s (%s)\n", 100*r.FractionOfPeak, r.PeakGFLOPs, r.PeakNote)
	}
	if r.MatmulGFLOPs > 0 {
		fmt.Fprintf(stdout, "a %dx%d float32 matrix product runs at %.1f GFLOP/s on this backend (the model reaches %.0f%% of it)\n",
			*matmul, *matmul, r.MatmulGFLOPs, 100*r.GFLOPs/r.MatmulGFLOPs)
	}
	return nil
}

// newBenchStep returns a function that runs one step on fresh random images: a training step (forward,
// backward and AdamW update, as vit pretrain) or a forward pass.
func newBenchStep(b compute.Backend, cfg vitnb.Config, batch int, mode string, devices int) (func() error, error) {
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

// peakRSS returns the process's peak resident memory in MB (VmHWM of /proc/self/status), or 0 where unknown.
func peakRSS() float64 {
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
