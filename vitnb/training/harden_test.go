package training

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"iter"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/model/checkpoint"
	"github.com/gomlx/gomlx/ml/train"
	"github.com/vitnb/vitnb/datasets/datasetstest"
)

// lockHelperEnv makes the test binary, run as a subprocess by TestRunFolderLock, hold the lock of a folder.
const lockHelperEnv = "VITNB_TEST_HOLD_LOCK"

// TestRunFolderLock: a second run on a folder in use fails at once, naming the holder (PID, command, start time),
// whether the holder is in this process or another; after Close the folder is free again. Before the lock, both
// runs trained into the same folder and exited 0.
func TestRunFolderLock(t *testing.T) {
	if dir := os.Getenv(lockHelperEnv); dir != "" {
		if err := ClaimDir(dir); err != nil { // as a run does before it locks the folder
			t.Fatal(err)
		}
		l, err := lockDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		os.Stdout.WriteString("locked\n")
		_, _ = io.Copy(io.Discard, os.Stdin) // hold until the parent closes stdin
		_ = l.release()
		return
	}
	dir := t.TempDir()
	cfg := Config{Model: tinyModel(), BatchSize: 16, Dir: dir, Output: io.Discard,
		Optimizer: OptimizerConfig{LearningRate: 1e-3, TotalSteps: 2}}
	first, err := NewRun(testBackend(t), cfg)
	if err != nil {
		t.Fatal(err)
	}
	_, err = NewRun(testBackend(t), cfg)
	if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), "PID "+strconv.Itoa(os.Getpid())) ||
		!strings.Contains(err.Error(), os.Args[0]) || !strings.Contains(err.Error(), "started 20") {
		t.Fatalf("second run in one process: got %v, want the lock error naming PID %d and %s", err, os.Getpid(), os.Args[0])
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	third, err := NewRun(testBackend(t), Config{Model: tinyModel(), BatchSize: 16, Dir: dir, Output: io.Discard,
		Resume: true, Optimizer: OptimizerConfig{LearningRate: 1e-3, TotalSteps: 2}})
	if err != nil {
		t.Fatalf("after Close the folder should be free: %v", err)
	}
	_ = third.Close()

	// Another process holds the folder.
	other := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestRunFolderLock$")
	cmd.Env = append(os.Environ(), lockHelperEnv+"="+other)
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = stdin.Close(); _ = cmd.Wait() }()
	if line, _ := bufio.NewReader(stdout).ReadString('\n'); line != "locked\n" {
		t.Fatalf("the helper process did not take the lock: %q", line)
	}
	cfg.Dir = other
	_, err = NewRun(testBackend(t), cfg)
	if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), "PID "+strconv.Itoa(cmd.Process.Pid)) ||
		!strings.Contains(err.Error(), "TestRunFolderLock") {
		t.Fatalf("folder held by PID %d: got %v", cmd.Process.Pid, err)
	}
	_ = stdin.Close()
	_ = cmd.Wait()
	r, err := NewRun(testBackend(t), cfg)
	if err != nil {
		t.Fatalf("after the other process ended: %v", err)
	}
	_ = r.Close()
}

// TestLockFileLink: a run folder's lock file that is a symbolic link (to someone's file, to /dev/zero) or a folder
// is refused in one line naming it, and what it points to is left as it was: the lock was taken on the link's
// target, which was emptied (a pretrain into a folder whose lock linked to ~/thesis.tex left it empty).
func TestLockFileLink(t *testing.T) {
	victim := filepath.Join(t.TempDir(), "thesis.tex")
	if err := os.WriteFile(victim, []byte("precious"), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, plant := range map[string]func(lock string) error{
		"link to a file": func(lock string) error { return os.Symlink(victim, lock) },
		"link nowhere":   func(lock string) error { return os.Symlink(filepath.Join(t.TempDir(), "none"), lock) },
		"folder":         func(lock string) error { return os.Mkdir(lock, 0o755) },
	} {
		dir := t.TempDir()
		if err := ClaimDir(dir); err != nil { // vitnb's own folder, so that the run reaches its lock
			t.Fatal(err)
		}
		lock := filepath.Join(dir, LockFile)
		if err := plant(lock); err != nil {
			t.Fatal(err)
		}
		r, err := NewRun(testBackend(t), Config{Model: tinyModel(), BatchSize: 16, Dir: dir, Output: io.Discard,
			Optimizer: OptimizerConfig{LearningRate: 1e-3, TotalSteps: 2}})
		if err == nil {
			_ = r.Close()
		}
		if err == nil || !strings.Contains(err.Error(), lock) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: got %v, want one line naming %s", name, err, lock)
		}
		if data, _ := os.ReadFile(victim); string(data) != "precious" {
			t.Fatalf("%s: the link's target now holds %q", name, data)
		}
	}
}

// TestNewRunBadConfig: a negative batch size and a NaN label smoothing are refused before the run
// folder is made (a batch of -1 started a run recording "batch_size": -1; NaN passed the [0, 1) check).
func TestNewRunBadConfig(t *testing.T) {
	for name, c := range map[string]struct {
		change func(*Config)
		want   string
	}{
		"batch -1":            {func(c *Config) { c.BatchSize = -1 }, "batch size must be positive, got -1"},
		"label smoothing NaN": {func(c *Config) { c.LabelSmoothing = math.NaN() }, "label smoothing"},
	} {
		dir := filepath.Join(t.TempDir(), "run")
		cfg := Config{Model: tinyModel(), BatchSize: 16, Dir: dir, Output: io.Discard,
			Optimizer: OptimizerConfig{LearningRate: 1e-3, TotalSteps: 2}}
		c.change(&cfg)
		r, err := NewRun(testBackend(t), cfg)
		if err == nil {
			_ = r.Close()
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want an error containing %q", name, err, c.want)
		}
		if _, serr := os.Stat(dir); serr == nil {
			t.Errorf("%s: the run folder was made", name)
		}
	}
}

// storeValues returns every variable of a store but the progress metrics, by path, as raw bytes.
func storeValues(t *testing.T, s *model.Store) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for v := range s.IterVariables() {
		if isProgressMetric(v.Path()) {
			continue
		}
		if err := v.MustValue().ConstBytes(func(b []byte) { out[v.Path()] = slices.Clone(b) }); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// checkpointVariables lists the variables of the newest checkpoint of dir.
func checkpointVariables(t *testing.T, dir string) []string {
	t.Helper()
	names, err := listCheckpoints(dir)
	if err != nil || len(names) == 0 {
		t.Fatalf("no checkpoints in %s: %v", dir, err)
	}
	data, err := os.ReadFile(filepath.Join(dir, names[len(names)-1]+checkpoint.JsonNameSuffix))
	if err != nil {
		t.Fatal(err)
	}
	var meta struct {
		Variables []struct{ ParameterName string }
	}
	if err := json.Unmarshal(data, &meta); err != nil {
		t.Fatal(err)
	}
	var vars []string
	for _, v := range meta.Variables {
		vars = append(vars, v.ParameterName)
	}
	return vars
}

// stepLosses reads step -> loss from metrics.jsonl.
func stepLosses(t *testing.T, dir string) map[int]float64 {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "metrics.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[int]float64{}
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var rec StepRecord
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatal(err)
		}
		out[rec.Step] = rec.Loss
	}
	return out
}

// TestResumeBitExact trains 20 steps straight, and 10 steps then 5 resumptions of 2 steps each: every variable
// (weights, Adam moments, step counter, rng state) and every logged loss must be equal bit for bit, and the
// checkpoints must not grow. Before, a resumed run differed by up to 1e-7 in the weights and 9e-5 in a bias
// (GoMLX's loader created the variables in map order, and the training graph sums gradients in variable
// order), and each resume added 4 moving-average variables with fresh names (224 variables, 240 after 5 resumes).
func TestResumeBitExact(t *testing.T) {
	if strings.Contains(strings.ToLower(testBackend(t).Name()), "xla") {
		t.Skip("bit-exact resume is promised on the Go backend; XLA CPU's threaded kernels are not bit-reproducible across compilations")
	}
	const steps = 20
	quiet := func(c *Config) { c.Output, c.LogEvery, c.CheckpointEvery = io.Discard, 1, 2 }
	fullDir := t.TempDir()
	full, err := runFor(t, fullDir, steps, false, &stripes{seed: 3, batch: 16}, quiet)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	r, err := runFor(t, dir, steps, false, &stripes{seed: 3, batch: 16, failAfter: 10}, quiet)
	if err == nil {
		t.Fatal("the interrupted run should fail")
	}
	counts := []int{len(checkpointVariables(t, dir))}
	for i := 0; r.Step() < steps; i++ {
		stop := r.Step() + 2
		interrupt := func(c *Config) {
			c.Optimizer.TotalSteps = steps
			quiet(c)
		}
		// Stop after two more steps (a checkpoint): the data fails after stop batches (the first Step() skipped).
		r, err = runFor(t, dir, steps, true, &stripes{seed: 3, batch: 16, failAfter: stop}, interrupt)
		if r.Step() < steps && err == nil {
			t.Fatalf("resumption %d: no interruption", i)
		}
		if !r.Resumed || r.Step() != min(stop, steps) {
			t.Fatalf("resumption %d: resumed %v at step %d, want step %d", i, r.Resumed, r.Step(), stop)
		}
		counts = append(counts, len(checkpointVariables(t, dir)))
	}
	if len(counts) < 5 || slices.Min(counts) != slices.Max(counts) {
		t.Errorf("variables in the checkpoint after each resume: %v, want a constant count", counts)
	}
	for _, v := range checkpointVariables(t, dir) {
		if strings.Contains(v, "/metrics/") {
			t.Errorf("checkpoint holds the per-run metric %s", v)
		}
	}
	a, b := storeValues(t, full.Store), storeValues(t, r.Store)
	if len(a) != len(b) || len(a) < 70 {
		t.Fatalf("%d variables straight, %d resumed", len(a), len(b))
	}
	for path, x := range a {
		if !bytes.Equal(x, b[path]) {
			t.Errorf("%s differs after resumes", path)
		}
	}
	la, lb := stepLosses(t, fullDir), stepLosses(t, dir)
	for step := 1; step <= steps; step++ {
		if la[step] != lb[step] || la[step] == 0 {
			t.Errorf("step %d: loss %v straight, %v with resumes", step, la[step], lb[step])
		}
	}
}

// TestResumeSettings: run.json records the description; a resume with other settings is refused naming each
// field with its old and new values, unless an override names it; the first line says whether the run resumed.
func TestResumeSettings(t *testing.T) {
	type flags struct {
		Data string  `json:"data"`
		LR   float64 `json:"lr"`
		Seed int     `json:"seed"`
	}
	dir := t.TempDir()
	var out bytes.Buffer
	with := func(s flags, resume bool, overrides ...string) func(*Config) {
		return func(c *Config) {
			out.Reset()
			c.Settings, c.Overrides, c.Output, c.Resume = s, overrides, &out, resume
			c.Optimizer.TotalSteps = 10
		}
	}
	base := flags{Data: "cifar10", LR: 1e-3, Seed: 1}
	r, err := runFor(t, filepath.Join(dir, "typo"), 10, true, &stripes{seed: 1, batch: 16, batches: 0}, with(base, true))
	if err != nil || r.Resumed || !strings.HasPrefix(out.String(), "starting a new run in "+filepath.Join(dir, "typo")) {
		t.Fatalf("-resume on an empty folder: resumed %v, output %q, %v", r.Resumed, out.String(), err)
	}
	_ = r.Close()
	stored, err := ReadDescription(filepath.Join(dir, "typo"))
	if err != nil || stored["settings"].(map[string]any)["data"] != "cifar10" || stored["batch_size"].(float64) != 16 {
		t.Fatalf("run.json: %v, %v", stored, err)
	}

	run := filepath.Join(dir, "run")
	if r, err = runFor(t, run, 10, false, &stripes{seed: 1, batch: 16, failAfter: 6}, func(c *Config) {
		with(base, false)(c)
		c.CheckpointEvery = 5
	}); err == nil {
		t.Fatal("the interrupted run should fail")
	}
	changed := base
	changed.Data, changed.LR = "mnist", 2e-3
	_, err = runFor(t, run, 10, true, &stripes{seed: 1, batch: 16}, with(changed, true), func(c *Config) { c.BatchSize = 8 })
	for _, want := range []string{`settings.data was "cifar10", now "mnist"`, "settings.lr was 0.001, now 0.002",
		"batch_size was 16, now 8"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("changed settings: got %v, want it to say %q", err, want)
		}
	}
	if _, err = runFor(t, run, 10, true, &stripes{seed: 1, batch: 16}, with(changed, true, "data", "lr", "bogus")); err == nil ||
		!strings.Contains(err.Error(), `override "bogus" names no field`) {
		t.Errorf("unknown override: got %v", err)
	}
	r, err = runFor(t, run, 10, true, &stripes{seed: 1, batch: 16}, with(changed, true, "data", "settings.lr"))
	if err != nil || !r.Resumed || r.ResumedFrom != 5 {
		t.Fatalf("overridden resume: %v, resumed %v from %d", err, r.Resumed, r.ResumedFrom)
	}
	if lines := strings.Split(out.String(), "\n"); !strings.HasPrefix(lines[0], "resuming from step 5 in "+run) ||
		!strings.Contains(out.String(), `overriding settings.data: "cifar10" -> "mnist"`) {
		t.Errorf("output of the overridden resume: %q", out.String())
	}
	if stored, _ := ReadDescription(run); stored["settings"].(map[string]any)["data"] != "mnist" {
		t.Errorf("run.json not updated after an accepted override: %v", stored)
	}
}

// flipped yields the batches of inner with every label flipped from batch `from` on: a trained model then gets
// a loss far above its median, as a diverging run does.
type flipped struct {
	inner train.Dataset
	from  int
}

func (f flipped) Name() string { return "flipped" }

func (f flipped) Iter() iter.Seq2[train.Batch, error] {
	return func(yield func(train.Batch, error) bool) {
		i := 0
		for b, err := range f.inner.Iter() {
			if err == nil && i >= f.from {
				labels := tensors.MustCopyFlatData[int32](b.Labels[0])
				for j := range labels {
					labels[j] = 1 - labels[j]
				}
				b.Labels[0] = tensors.FromFlatDataAndDimensions(labels, len(labels))
			}
			i++
			if !yield(b, err) {
				return
			}
		}
	}
}

func TestDivergenceDetector(t *testing.T) {
	d := newDivergence(2)
	for i := range 20 {
		if err := d.add(0.05 + 0.01*float64(i%3)); err != nil {
			t.Fatal(err)
		}
	}
	// One hard batch, then back to normal: no divergence. 0.4 is 7x the median but less than ln 2 above it.
	for _, l := range []float64{3, 0.05, 0.4, 0.06, 0.5, 0.5, 0.5} {
		if err := d.add(l); err != nil {
			t.Fatalf("loss %g: %v", l, err)
		}
	}
	if err := errors.Join(d.add(5), d.add(6)); err != nil || d.sane() {
		t.Fatalf("two far losses: %v, sane %v", err, d.sane())
	}
	if err := d.add(7); err == nil || !strings.Contains(err.Error(), "far above its running median") {
		t.Fatalf("third far loss: %v", err)
	}
	if m := newDivergence(10).median(); !math.IsNaN(m) {
		t.Errorf("median of nothing: %v", m)
	}
}

// TestCheckpointPolicy: a run whose loss goes far above its median stops with an error and saves nothing after;
// the best and last sane checkpoints survive -keep 1; a newest checkpoint that cannot be read makes resume fall
// back to the one before, saying so. Before, the run kept saving and -keep rotated every good checkpoint out.
func TestCheckpointPolicy(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	policy := func(c *Config) { c.CheckpointEvery, c.Keep, c.Output, c.LogEvery = 2, 1, &out, 1000 }
	_, stop := runFor(t, dir, 60, false, flipped{&stripes{seed: 1, batch: 16}, 40}, policy)
	err := stop
	if err == nil || !strings.Contains(err.Error(), "diverged at step 4") || !strings.Contains(err.Error(), "last sane checkpoint is checkpoint-") ||
		!strings.HasPrefix(err.Error(), "training diverged") {
		t.Fatalf("flipped labels from step 41: got %v, want a divergence error in steps 41-49 naming the last sane checkpoint", err)
	}
	// The curve keeps the step that stopped the run, although no regular record was due (LogEvery 1000): its loss
	// is far above the first steps' ln 2.
	if curve, err := ReadCurve(dir); err != nil || len(curve) != 1 || curve[0].Step <= 40 || curve[0].Loss < 1 {
		t.Errorf("the curve does not hold the diverged step: %v, %+v", err, curve)
	}
	names, _ := listCheckpoints(dir)
	data, err := os.ReadFile(filepath.Join(dir, CheckpointMarksFile))
	if err != nil {
		t.Fatal(err)
	}
	var marks checkpointMarks
	if err := json.Unmarshal(data, &marks); err != nil || marks.Best == nil || marks.LastSane == nil {
		t.Fatalf("%s: %s, %v", CheckpointMarksFile, data, err)
	}
	if !slices.Contains(names, marks.Best.Name) || !slices.Contains(names, marks.LastSane.Name) || len(names) > 3 {
		t.Errorf("checkpoints %v with -keep 1: want the newest, the best %s and the last sane %s", names, marks.Best.Name, marks.LastSane.Name)
	}
	if last := names[len(names)-1]; last != marks.LastSane.Name || marks.LastSane.Step > 48 || marks.LastSane.Step < 40 {
		t.Errorf("newest checkpoint %s, last sane at step %d: want the last sane, near step 40, newest", last, marks.LastSane.Step)
	}
	// The checkpoints saved after the last sane one were set aside (a resumed run, eval and predict would start from
	// them), not deleted, and the stop message says so.
	aside, _ := filepath.Glob(filepath.Join(dir, DivergedPrefix+"checkpoint-*"+checkpoint.JsonNameSuffix))
	if len(aside) == 0 || !strings.Contains(stop.Error(), "set aside as "+DivergedPrefix) {
		t.Fatalf("set aside: %v; message %q", aside, stop)
	}
	if marks.Best.Step < 20 || marks.Best.Loss > 0.3 {
		t.Errorf("best checkpoint %+v: want a trained one", marks.Best)
	}

	// Put a set-aside checkpoint back as the newest and damage it: resume falls back to the one before (the last
	// sane) and says so.
	back := strings.TrimSuffix(filepath.Base(aside[0]), checkpoint.JsonNameSuffix)
	for _, suffix := range []string{checkpoint.JsonNameSuffix, checkpoint.BinDataSuffix} {
		if err := os.Rename(filepath.Join(dir, back+suffix), filepath.Join(dir, strings.TrimPrefix(back, DivergedPrefix)+suffix)); err != nil {
			t.Fatal(err)
		}
	}
	names, _ = listCheckpoints(dir)
	newest := names[len(names)-1]
	bin := filepath.Join(dir, newest+checkpoint.BinDataSuffix)
	if err := os.Truncate(bin, 100); err != nil {
		t.Fatal(err)
	}
	r, err := runFor(t, dir, 60, true, &stripes{seed: 1, batch: 16}, policy, func(c *Config) { c.Optimizer.TotalSteps = 60 })
	if err != nil {
		t.Fatalf("resume past a damaged checkpoint: %v", err)
	}
	if !strings.Contains(out.String(), "checkpoint "+newest+" cannot be read") || !strings.Contains(out.String(), "falling back to "+names[len(names)-2]) {
		t.Errorf("output: %q", out.String())
	}
	if r.ResumedFrom >= marks.LastSane.Step+1 || !r.Resumed {
		t.Errorf("resumed from step %d, want an earlier checkpoint than %s", r.ResumedFrom, newest)
	}
}

// TestLostMetadataFallback: when the newest checkpoint's data file has lost its metadata (a save that did not
// finish, a removed .json), loading the one before is said, as for a damaged one: it was used without a word.
func TestLostMetadataFallback(t *testing.T) {
	dir := t.TempDir()
	r, err := runFor(t, dir, 20, false, &stripes{seed: 1, batch: 16}, func(c *Config) { c.Output = io.Discard })
	if err != nil {
		t.Fatal(err)
	}
	_ = r.Close()
	names, _ := listCheckpoints(dir)
	if len(names) < 2 {
		t.Fatalf("checkpoints %v: want 2", names)
	}
	newest, older := names[len(names)-1], names[len(names)-2]
	if err := os.Remove(filepath.Join(dir, newest+checkpoint.JsonNameSuffix)); err != nil {
		t.Fatal(err)
	}
	_, ck, err := LoadRun(dir)
	if err != nil {
		t.Fatal(err)
	}
	if ck.Name != older || !strings.Contains(ck.Fallback, "checkpoint "+newest+" cannot be read") ||
		!strings.Contains(ck.Fallback, "falling back to "+older) {
		t.Errorf("loaded %s with fallback %q: want %s, saying that %s has no metadata", ck.Name, ck.Fallback, older, newest)
	}
	// With no complete checkpoint left, the error names the data file that lost its metadata.
	for _, name := range names[:len(names)-1] {
		_ = os.Remove(filepath.Join(dir, name+checkpoint.JsonNameSuffix))
	}
	if _, _, err := LoadRun(dir); err == nil || !strings.Contains(err.Error(), newest) {
		t.Errorf("no metadata left: got %v, want an error naming %s", err, newest)
	}
}

// TestDamagedCheckpoints: checkpoints whose metadata lies about the data, or whose data is cut or corrupt, are
// refused with a line naming the file, before any tensor of the claimed size is allocated.
func TestDamagedCheckpoints(t *testing.T) {
	dir := t.TempDir()
	r, err := runFor(t, dir, 6, false, &stripes{seed: 1, batch: 16}, func(c *Config) { c.Output = io.Discard })
	if err != nil {
		t.Fatal(err)
	}
	_ = r.Close()
	names, _ := listCheckpoints(dir)
	base := filepath.Join(dir, names[0])
	meta, err := os.ReadFile(base + checkpoint.JsonNameSuffix)
	if err != nil {
		t.Fatal(err)
	}
	bin, err := os.ReadFile(base + checkpoint.BinDataSuffix)
	if err != nil {
		t.Fatal(err)
	}
	// The first scalar variable (8 bytes: the global step) claims 2^40 elements instead; backends format an empty
	// shape as [] or null.
	huge := regexp.MustCompile(`"Dimensions": (\[\]|null),`).ReplaceAllLiteralString(string(meta), "\x00")
	huge = strings.Replace(huge, "\x00", `"Dimensions": [1099511627776],`, 1)
	huge = strings.ReplaceAll(huge, "\x00", `"Dimensions": [],`)
	if huge == string(meta) {
		t.Fatalf("no scalar variable in the checkpoint's metadata to lie about:\n%s", meta)
	}
	cases := map[string]struct {
		meta, bin []byte
		link      string // the data file is a symbolic link to this instead
		want      string
	}{
		"huge dimensions": {meta: []byte(huge), bin: bin, want: "in the metadata, want"},
		"cut data":        {meta: meta, bin: bin[:len(bin)/2], want: "decompressing"},
		"no data":         {meta: meta, want: ""},
		"bad json":        {meta: meta[:len(meta)/2], bin: bin, want: "metadata"},
		// A data file far larger than its metadata describes is refused before it is read whole: a link to
		// /dev/zero passed 2 GB and died "fatal error: out of memory" with a stack trace.
		"data is /dev/zero": {meta: meta, link: "/dev/zero", want: "larger than"},
		"padded data":       {meta: meta, bin: append(slices.Clone(bin), make([]byte, 128<<20)...), want: "larger than"},
	}
	for name, c := range cases {
		d := t.TempDir()
		if err := os.WriteFile(filepath.Join(d, names[0]+checkpoint.JsonNameSuffix), c.meta, 0o644); err != nil {
			t.Fatal(err)
		}
		binPath := filepath.Join(d, names[0]+checkpoint.BinDataSuffix)
		if c.link != "" {
			if err := os.Symlink(c.link, binPath); err != nil {
				t.Fatal(err)
			}
		} else if err := os.WriteFile(binPath, c.bin, 0o644); err != nil {
			t.Fatal(err)
		}
		var n uint64
		var lerr error
		n = datasetstest.Allocated(func() { _, _, lerr = LoadRun(d) })
		if lerr == nil || !strings.Contains(lerr.Error(), c.want) || strings.Contains(lerr.Error(), "\n") {
			t.Errorf("%s: got %v, want one line containing %q", name, lerr, c.want)
		}
		if n > 64<<20 {
			t.Errorf("%s: loading allocated %d bytes", name, n)
		}
	}
}

// TestFewShotBounded: FewShot's time and memory are bounded whatever it is given: too many draws, too many or
// repeated numbers of shots, a class count beyond the training examples (make panicked for MaxInt), too wide a
// representation (the ridge system is its square), and a number of shots that the pool cannot give after other
// numbers were computed: each an error before any work.
func TestFewShotBounded(t *testing.T) {
	small := &Features{Dim: 2, X: []float64{0, 1, 1, 0, 0, 2, 2, 0}, Labels: []int32{0, 1, 0, 1}}
	wide := &Features{Dim: MaxFewShotDim + 1, X: make([]float64, 2*(MaxFewShotDim+1)), Labels: []int32{0, 1}}
	many := make([]int, MaxFewShotSettings+1)
	for i := range many {
		many[i] = i + 1
	}
	cases := []struct {
		name           string
		trainF, testF  *Features
		classes, seeds int
		shots          []int
		want           string
	}{
		{"seeds 2^40", small, small, 2, 1 << 40, []int{1}, "want 1 to 1000 draws (seeds), got 1099511627776"},
		{"65 numbers of shots", small, small, 2, 1, many, "65 numbers of shots, at most 64"},
		{"shots given twice", small, small, 2, 1, []int{1, 1}, "1 shots given twice"},
		{"MaxInt classes", small, small, math.MaxInt, 1, []int{1}, "classes but only 4 training examples"},
		{"a representation too wide", wide, wide, 2, 1, []int{1}, "representations of 8193 dimensions, at most 8192"},
		{"3 shots after 1", small, small, 2, 1, []int{1, 3}, "3-shot needs 3 examples of class 0"},
	}
	for _, c := range cases {
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Errorf("%s: panicked: %v", c.name, r)
				}
			}()
			if _, err := FewShot(c.trainF, c.testF, c.classes, c.shots, 1, c.seeds); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("%s: %v, want an error containing %q", c.name, err, c.want)
			}
		}()
	}
}
