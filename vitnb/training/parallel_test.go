package training

import (
	"bufio"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/gomlx/compute"
	"github.com/gomlx/gomlx/ml/train"

	"github.com/vitnb/vitnb/vitnb/backend"
)

var (
	xlaOnce    sync.Once
	xlaCPU     compute.Backend
	xlaCPUErr  error
	xlaMissing bool
)

// xlaBackend returns an XLA CPU backend, whatever GOMLX_BACKEND says, or skips the test when the XLA CPU
// plugin is not installed. XLA's CPU plugin shows several devices (4 with go-xla v0.4.13), so multi-device
// execution can be tested on any machine.
func xlaBackend(t *testing.T, devices int) compute.Backend {
	t.Helper()
	xlaOnce.Do(func() {
		if _, ok := backend.XLAPlugins()["cpu"]; !ok {
			xlaMissing = true
			return
		}
		xlaCPU, xlaCPUErr = compute.NewWithConfig("xla:cpu")
	})
	if xlaMissing {
		t.Skip("the XLA CPU PJRT plugin is not installed (.ci/install-xla-cpu): multi-device training needs XLA")
	}
	if xlaCPUErr != nil {
		t.Fatalf("the XLA CPU plugin is installed but does not start: %v", xlaCPUErr)
	}
	if xlaCPU.NumDevices() < devices {
		t.Fatalf("XLA CPU shows %d devices, the test needs %d", xlaCPU.NumDevices(), devices)
	}
	return xlaCPU
}

// parallelRun trains the tiny model for steps on b with devices devices, in dir (which may hold a checkpoint
// to resume), logging the loss of every step. With failAfter > 0 the data breaks off after that many batches
// (an interrupted run, which has saved its step-4 checkpoint) and the error is not fatal.
func parallelRun(t *testing.T, b compute.Backend, devices int, dir string, steps int, resume bool, failAfter int) *Run {
	t.Helper()
	cfg := Config{
		Model:     tinyModel(),
		Optimizer: OptimizerConfig{Kind: "adamw", LearningRate: 3e-3, WarmupSteps: 2, TotalSteps: steps, WeightDecay: 0.01, ClipNorm: 1},
		BatchSize: 16, Seed: 7, Dir: dir, CheckpointEvery: 4, Resume: resume, LogEvery: 1, Devices: devices,
	}
	r, err := NewRun(b, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close() })
	err = r.Train(&stripes{seed: 5, batch: 16, failAfter: failAfter})
	if failAfter > 0 {
		if err == nil || !strings.Contains(err.Error(), "simulated interruption") {
			t.Fatalf("the interrupted run on %d device(s) should fail with the data error, got %v", devices, err)
		}
		_ = r.Close() // the interrupted process ends: its lock on the folder goes
	} else if err != nil {
		t.Fatalf("training on %d device(s): %v", devices, err)
	}
	return r
}

// losses reads the per-step losses of metrics.jsonl.
func losses(t *testing.T, dir string) []float64 {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, "metrics.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []float64
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var rec StepRecord
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatal(err)
		}
		out = append(out, rec.Loss)
	}
	return out
}

// parallelWeightDiff compares the float variables (weights, optimizer state) of two runs, leaving out the progress
// metrics.
func parallelWeightDiff(t *testing.T, a, b *Run) (float64, int) {
	t.Helper()
	return maxWeightDiff(t, a.Store, b.Store)
}

// Tolerances of the 2-device vs 1-device comparison on XLA CPU. The sharded step sums the gradients of each
// half-batch and then all-reduces them, so float32 additions happen in another order; Adam (which divides by the
// root of tiny second moments in the first steps) turns those last-bit differences into weight differences of
// about 2e-5 after 8 steps (measured; the test log says). A run that saw only the first half of each batch (what
// a step that kept device 0's gradient without the all-reduce would do) ends 3.6e-2 away (measured), so the
// tolerance tells a correct all-reduce from a missing one.
const (
	parallelLossTol   = 1e-5
	parallelWeightTol = 1e-4
)

// TestDataParallelMatchesOneDevice trains the same global batches on 1 and on 2 XLA CPU devices and compares
// the loss of every step and the final weights; then it checks that checkpoints cross over: a run trained 4
// steps on 2 devices resumes on 1, and one trained 4 steps on 1 resumes on 2, both ending where the
// uninterrupted runs end.
func TestDataParallelMatchesOneDevice(t *testing.T) {
	b := xlaBackend(t, 2)
	const steps = 8
	oneDir, twoDir := t.TempDir(), t.TempDir()
	one := parallelRun(t, b, 1, oneDir, steps, false, 0)
	two := parallelRun(t, b, 2, twoDir, steps, false, 0)
	l1, l2 := losses(t, oneDir), losses(t, twoDir)
	if len(l1) != steps || len(l2) != steps {
		t.Fatalf("want %d logged losses, got %d and %d", steps, len(l1), len(l2))
	}
	lossDiff := 0.0
	for i := range l1 {
		lossDiff = math.Max(lossDiff, math.Abs(l1[i]-l2[i]))
		if math.Abs(l1[i]-l2[i]) > parallelLossTol*math.Max(1, math.Abs(l1[i])) {
			t.Errorf("step %d: loss %.8f on 1 device, %.8f on 2", i+1, l1[i], l2[i])
		}
	}
	// The 2-device run really ran on 2 devices: its weights are replicated distributed tensors, one shard on each.
	for v := range two.Store.IterVariables() {
		if !v.Trainable {
			continue
		}
		dv, err := v.DistributedValue()
		if err != nil {
			t.Fatalf("%s has no distributed value after 2-device training: %v", v.Path(), err)
		}
		for i, shard := range dv.Shards() {
			if dev, err := shard.Device(); err != nil || int(dev) != i {
				t.Errorf("%s: shard %d of %d is on device %d (%v), want %d", v.Path(), i, dv.NumShards(), dev, err, i)
			}
		}
		if dv.NumShards() != 2 || !dv.ShardingSpec().IsReplicated() {
			t.Errorf("%s: %d shards, sharding %s; want 2 replicated", v.Path(), dv.NumShards(), dv.ShardingSpec())
		}
		break
	}
	if l1[steps-1] >= l1[0] {
		t.Errorf("the loss did not go down in %d steps: %v", steps, l1)
	}
	diff, n := parallelWeightDiff(t, one, two)
	if n < 10 || diff > parallelWeightTol {
		t.Errorf("1 vs 2 devices after %d steps: max difference %g over %d variables, want at most %g", steps, diff, n, parallelWeightTol)
	}
	t.Logf("1 vs 2 devices, %d steps: losses %.6f..%.6f, max loss difference %g, max weight difference %g over %d variables",
		steps, l1[0], l1[steps-1], lossDiff, diff, n)

	// Checkpoints cross over: 2 devices -> 1 and 1 -> 2 (CheckpointEvery is 4).
	for _, c := range []struct{ first, then int }{{2, 1}, {1, 2}} {
		dir := t.TempDir()
		parallelRun(t, b, c.first, dir, steps, false, steps/2+1) // Checkpoint at step 4, broken off in step 5.
		resumed := parallelRun(t, b, c.then, dir, steps, true, 0)
		if resumed.Step() != steps {
			t.Fatalf("resumed run ended at step %d, want %d", resumed.Step(), steps)
		}
		diff, n := parallelWeightDiff(t, one, resumed)
		if diff > parallelWeightTol {
			t.Errorf("%d devices then %d: max difference %g from the 1-device run over %d variables, want at most %g",
				c.first, c.then, diff, n, parallelWeightTol)
		}
		t.Logf("%d devices for %d steps, resumed on %d: max difference %g from the 1-device run", c.first, steps/2, c.then, diff)
	}

	// Evaluation after data-parallel training runs on one device from the merged weights.
	m, err := Evaluate(b, two.Store, two.Config.Model, &stripes{seed: 99, batch: 20, batches: 2})
	if err != nil || m.Examples != 40 {
		t.Fatalf("evaluating the 2-device run: %v, %+v", err, m)
	}
}

// TestDataParallelErrors checks the messages for a backend without enough devices, the Go backend, and
// batches that do not split evenly.
func TestDataParallelErrors(t *testing.T) {
	goBackend, err := compute.NewWithConfig("go")
	if err != nil {
		t.Fatal(err)
	}
	defer goBackend.Finalize()
	cfg := Config{Model: tinyModel(), BatchSize: 16, Devices: 2, Optimizer: OptimizerConfig{LearningRate: 1e-3, TotalSteps: 2}}
	if _, err := NewRun(goBackend, cfg); err == nil || !strings.Contains(err.Error(), "XLA") {
		t.Errorf("the Go backend should refuse 2 devices and point to XLA, got %v", err)
	}
	if err := CheckDevices(goBackend, 1, 15); err != nil {
		t.Errorf("one device needs nothing, got %v", err)
	}

	b := xlaBackend(t, 2)
	cfg.Devices = b.NumDevices() + 1
	if _, err := NewRun(b, cfg); err == nil || !strings.Contains(err.Error(), "only") {
		t.Errorf("asking for more devices than the backend has should fail, got %v", err)
	}
	cfg.Devices, cfg.BatchSize = 2, 15
	if _, err := NewRun(b, cfg); err == nil || !strings.Contains(err.Error(), "multiple of 2") {
		t.Errorf("a batch of 15 on 2 devices should fail, got %v", err)
	}
	cfg.BatchSize, cfg.Accumulate = 16, 2
	if _, err := NewRun(b, cfg); err == nil || !strings.Contains(err.Error(), "accumulate") {
		t.Errorf("accumulation with 2 devices should fail, got %v", err)
	}
	// A batch of another size in the data (e.g. a last partial batch) is caught when split.
	cfg.Accumulate = 1
	r, err := NewRun(b, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	err = r.Train(&stripes{seed: 1, batch: 5})
	if err == nil || !strings.Contains(err.Error(), "does not split evenly over 2 devices") {
		t.Errorf("a batch of 5 on 2 devices should fail when split, got %v", err)
	}
}

var _ train.DistributedDataset = (*shardedDataset)(nil)
