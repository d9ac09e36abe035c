package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/vitnb/vitnb/vitnb/backend"
	"github.com/vitnb/vitnb/vitnb/bench"
)

func init() {
	commands["bench"] = command{
		summary: "images/s, GFLOP/s and memory of training or inference steps of a preset (random data)",
		run:     runBench,
	}
}

func runBench(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("bench", "-preset P -batch N -mode train|infer [-dtype f32|bf16] [-json]", stderr)
	mf := addModelFlags(fs, true)
	var o bench.Options
	fs.IntVar(&o.Batch, "batch", 128, "images per step")
	fs.StringVar(&o.Mode, "mode", "train", "train (forward, backward, AdamW update) or infer (forward only)")
	fs.IntVar(&o.Warmup, "warmup", 3, "steps run after compilation and before timing")
	fs.IntVar(&o.MinSteps, "steps", 10, "timed steps, at least")
	fs.DurationVar(&o.MinTime, "time", 10*time.Second, "timed duration, at least")
	asJSON := fs.Bool("json", false, "print one JSON object")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile (pprof) of the timed steps to this file")
	fs.IntVar(&o.Matmul, "matmul", 0, "also measure an N x N float32 matrix product on the backend, the practical ceiling (e.g. 1024)")
	fs.IntVar(&o.Devices, "devices", 1, "train data-parallel on N devices of an XLA backend (-mode train; each batch split N ways)")
	if _, err := parseArgs(fs, args, 0, ""); err != nil {
		return err
	}
	if o.Mode != "train" && o.Mode != "infer" {
		return usageErrorf("-mode must be train or infer, got %q", o.Mode)
	}
	if o.Batch <= 0 || o.MinSteps <= 0 || o.Warmup < 0 || o.MinTime < 0 || o.Matmul < 0 || o.Matmul > 16384 {
		return usageErrorf("-batch and -steps must be positive, -warmup and -time not negative, -matmul in [0, 16384]")
	}
	if o.Devices < 1 || o.Batch%o.Devices != 0 || (o.Devices > 1 && o.Mode != "train") {
		return usageErrorf("-devices %d: want a positive number of devices that divides -batch %d, and -mode train for more than one", o.Devices, o.Batch)
	}
	cfg, err := mf.config()
	if err != nil {
		return err
	}
	if !backend.SIMDBuild {
		fmt.Fprintln(stderr, "WARNING: built without GOEXPERIMENT=simd: the pure-Go backend runs 13-16x slower")
	}
	b, name, err := newBackend(stderr)
	if err != nil {
		return err
	}
	o.BackendName = name
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return fmt.Errorf("-cpuprofile: %w", err)
		}
		defer f.Close()
		o.CPUProfile = f
	}
	r, err := bench.Run(b, cfg, o)
	if err != nil {
		return err
	}
	if *cpuProfile != "" {
		fmt.Fprintf(stderr, "CPU profile of the timed steps written to %s (go tool pprof -top bin/vit %s)\n", *cpuProfile, *cpuProfile)
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(r)
	}
	fmt.Fprint(stdout, r)
	return nil
}
