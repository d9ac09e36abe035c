package main

import (
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/vitnb/vitnb/vitnb/backend"
	"github.com/vitnb/vitnb/vitnb/bench"
)

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
	fs.StringVar(&o.CPUProfilePath, "cpuprofile", "", "write a CPU profile (pprof) of the timed steps to this file")
	fs.IntVar(&o.Matmul, "matmul", 1024, "print the backend's ceiling, an N x N float32 matrix product (measured once per machine, then kept; 0: none)")
	fs.IntVar(&o.Devices, "devices", 1, "train data-parallel on N devices of an XLA backend (-mode train; each batch split N ways)")
	if _, err := parseArgs(fs, args, 0, ""); err != nil {
		return err
	}
	if err := o.Validate(); err != nil {
		return usageErrorf("%v", err)
	}
	cfg, err := mf.config()
	if err != nil {
		return err
	}
	backend.WarnSIMD(stderr)
	b, choice, err := backend.Open(stderr)
	if err != nil {
		return err
	}
	o.BackendName = choice.Config
	r, err := bench.Run(b, cfg, o)
	if err != nil {
		return err
	}
	if p := o.CPUProfilePath; p != "" {
		fmt.Fprintf(stderr, "CPU profile of the timed steps written to %s (go tool pprof -top bin/vit %s)\n", p, p)
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(r)
	}
	_, err = fmt.Fprint(stdout, r)
	return err
}
