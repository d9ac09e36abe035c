package main

import (
	"encoding/json"
	"fmt"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vitnb/vitnb/vitnb/backend"

	"github.com/vitnb/vitnb/datasets/datasetstest"

	"github.com/vitnb/vitnb/vitnb/training"
)

// TestMain lets tests run the vit binary as a separate process (to kill it): with VIT_AS_MAIN=1 the test
// binary behaves as vit with the arguments in VIT_ARGS (separated by newlines); with VIT_AS_MAIN=restart it
// first restarts itself with the malloc tunables, as vit's main does.
func TestMain(m *testing.M) {
	if mode := os.Getenv("VIT_AS_MAIN"); mode != "" {
		if mode == "restart" { // As main() does: restart with the malloc tunables first.
			backend.RestartWithMallocTunables()
		}
		os.Exit(runMain(strings.Split(os.Getenv("VIT_ARGS"), "\n"), os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// writeFolderDataset writes a two-class folder data set of 8x8 grey PNGs (datasetstest.WriteFolder).
func writeFolderDataset(t *testing.T, perClass int) string {
	return datasetstest.WriteFolder(t, perClass, false)
}

func tinyTrainArgs(data, dir string, steps int) []string {
	return []string{"pretrain", "-data", "folder:" + data, "-preset", "micro28", "-image-size", "8", "-patch", "4",
		"-width", "16", "-depth", "1", "-heads", "2", "-mlp", "32", "-batch", "16", "-steps", fmt.Sprint(steps),
		"-warmup", "10", "-lr", "3e-3", "-checkpoint-every", "50", "-progress=false", "-workers", "1", "-dir", dir}
}

func readResults(t *testing.T, dir string) *training.Results {
	t.Helper()
	r, err := training.ReadResults(filepath.Join(dir, training.ResultsFile))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestPretrainKilledAndResumed kills a training process (SIGKILL) after its first checkpoint, resumes it, and
// checks that the final metrics equal those of an uninterrupted run with the same seed.
func TestPretrainKilledAndResumed(t *testing.T) {
	data := writeFolderDataset(t, 40)
	const steps = 400
	fullDir := filepath.Join(t.TempDir(), "full")
	if code, out, errOut := runVit(t, tinyTrainArgs(data, fullDir, steps)...); code != 0 {
		t.Fatalf("uninterrupted run: exit %d\n%s\n%s", code, out, errOut)
	}
	full := readResults(t, fullDir)
	if full.Steps != steps || full.Metrics.Top1 < 0.9 || full.Metrics.Examples != 80 {
		t.Fatalf("uninterrupted run: %d steps, top-1 %.3f on %d examples", full.Steps, full.Metrics.Top1, full.Metrics.Examples)
	}

	// The attention picture of the trained model: 8 images, each beside its rollout mask, in a 4-column grid.
	pic := filepath.Join(t.TempDir(), "att.png")
	if code, out, errOut := runVit(t, "attention", "-dir", fullDir, "-data", "folder:"+data, "-n", "8", "-scale", "2", "-o", pic); code != 0 || !strings.Contains(out, "written to") {
		t.Fatalf("vit attention: exit %d\n%s\n%s", code, out, errOut)
	}
	f, err := os.Open(pic)
	if err != nil {
		t.Fatal(err)
	}
	cfgImg, err := png.DecodeConfig(f)
	f.Close()
	if err != nil || cfgImg.Width < 4*2*(2*8) || cfgImg.Height < 2*2*8 {
		t.Errorf("attention picture: %v, %dx%d", err, cfgImg.Width, cfgImg.Height)
	}

	// vit eval writes a results file beside the run's, which the notebooks' benchmark table reads.
	if code, out, errOut := runVit(t, "eval", "-dir", fullDir, "-data", "folder:"+data); code != 0 {
		t.Fatalf("vit eval: exit %d\n%s\n%s", code, out, errOut)
	}
	evalFiles, _ := filepath.Glob(filepath.Join(fullDir, "results-eval-folder_*-test.json"))
	if len(evalFiles) != 1 {
		t.Fatalf("vit eval wrote %v", evalFiles)
	}
	if r, err := training.ReadResults(evalFiles[0]); err != nil || r.Command != "eval" || r.From != fullDir ||
		r.Metrics.Top1 != full.Metrics.Top1 || r.ImagesSeen() != 0 {
		t.Fatalf("eval results %+v, %v; want the run's top-1 %.3f", r, err, full.Metrics.Top1)
	}

	// Few-shot linear evaluation of the frozen representation: 1 and 5 examples per class.
	code, out, errOut := runVit(t, "fewshot", "-dir", fullDir, "-data", "folder:"+data, "-shots", "1,5", "-json")
	var fsOut struct {
		Accuracy map[string]float64 `json:"accuracy_by_shots"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &fsOut) != nil || fsOut.Accuracy["5"] < 0.9 {
		t.Errorf("vit fewshot: exit %d, %s %s", code, out, errOut)
	}

	// Fine-tuning a run takes the run's architecture: no model flags needed.
	ftDir := filepath.Join(t.TempDir(), "ft")
	if code, out, errOut := runVit(t, "finetune", "-from", fullDir, "-data", "folder:"+data, "-steps", "20", "-warmup", "2",
		"-batch", "16", "-progress=false", "-workers", "1", "-dir", ftDir); code != 0 {
		t.Errorf("vit finetune -from: exit %d\n%s\n%s", code, out, errOut)
	} else if ft := readResults(t, ftDir); ft.Model.Width != 16 || ft.Model.ImageSize != 8 || ft.From != fullDir {
		t.Errorf("fine-tuned model %+v from %q, want the run's width 16 at 8 px", ft.Model, ft.From)
	}

	// Linear probe on the frozen representation of all 80 training images.
	code, out, errOut = runVit(t, "probe", "-dir", fullDir, "-data", "folder:"+data, "-epochs", "10", "-json")
	var probeOut struct {
		Train int `json:"train_examples"`
		Probe struct {
			Accuracy float64 `json:"accuracy"`
		} `json:"probe"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &probeOut) != nil || probeOut.Train != 80 || probeOut.Probe.Accuracy < 0.9 {
		t.Errorf("vit probe: exit %d, %s %s", code, out, errOut)
	}

	dir := filepath.Join(t.TempDir(), "killed")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "VIT_AS_MAIN=1", "VIT_ARGS="+strings.Join(tinyTrainArgs(data, dir, steps), "\n"))
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		if _, err := os.Stat(filepath.Join(dir, "checkpoint-n0000050-step-00000050.json")); err == nil {
			break
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			t.Fatal("no checkpoint after 2 minutes")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := cmd.Process.Kill(); err != nil { // SIGKILL
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if _, err := os.Stat(filepath.Join(dir, "results.json")); err == nil {
		t.Fatal("the run finished before it was killed: the test proves nothing")
	}
	if code, _, errOut := runVit(t, tinyTrainArgs(data, dir, steps)...); code != 1 || !strings.Contains(errOut, "-resume") {
		t.Errorf("restarting without -resume: exit %d, %q; want exit 1 asking for -resume", code, errOut)
	}
	if code, out, errOut := runVit(t, append(tinyTrainArgs(data, dir, steps), "-resume")...); code != 0 {
		t.Fatalf("resumed run: exit %d\n%s\n%s", code, out, errOut)
	}
	resumed := readResults(t, dir)
	if resumed.Steps != steps {
		t.Errorf("resumed run ended at step %d, want %d", resumed.Steps, steps)
	}
	if resumed.Metrics.Top1 != full.Metrics.Top1 || diff(resumed.Metrics.Loss, full.Metrics.Loss) > 1e-5 {
		t.Errorf("resumed run: top-1 %v loss %v; uninterrupted: top-1 %v loss %v",
			resumed.Metrics.Top1, resumed.Metrics.Loss, full.Metrics.Top1, full.Metrics.Loss)
	}
	t.Logf("loss after resume %.9f, uninterrupted %.9f", resumed.Metrics.Loss, full.Metrics.Loss)
}

func diff(a, b float64) float64 {
	if a > b {
		return a - b
	}
	return b - a
}

func TestTrainBadInput(t *testing.T) {
	data := writeFolderDataset(t, 4)
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{append(tinyTrainArgs(data, dir, 20), "-classes", "5"), 2, "has 2 classes"},
		{append(tinyTrainArgs(data, dir, 20), "-optimizer", "sgd", "-wd", "0.1"), 2, "weight decay is for adamw"},
		{append(tinyTrainArgs(data, dir, 10), "-warmup", "10"), 2, "warm-up steps"},
		{[]string{"finetune", "-data", "folder:" + data}, 2, "give one of -from RUNDIR"},
		{[]string{"pretrain", "-data", "nosuchdata"}, 1, "unknown data set"},
		{append(tinyTrainArgs(data, dir, 20), "-accumulate", "0"), 2, `flag -accumulate: want a whole number >= 1`},
		{append(tinyTrainArgs(data, dir, 20), "-pad-crop", "-2"), 2, `flag -pad-crop: want a whole number in 0..1024`},
		{[]string{"eval", "-dir", filepath.Join(dir, "nothing")}, 1, "not a vitnb run folder"},
		// Numbers out of range are refused when the flags are parsed.
		{append(tinyTrainArgs(data, dir, 20), "-batch", "0"), 2, `invalid value "0" for flag -batch: want a whole number >= 1`},
		{append(tinyTrainArgs(data, dir, 20), "-devices", "-1"), 2, "flag -devices: want a whole number in 1..4096"},
		{append(tinyTrainArgs(data, dir, 20), "-keep", "-1"), 2, "flag -keep: want a whole number >= 0"},
		{[]string{"attention", "-dir", dir, "-n", "1000"}, 2, "flag -n: want a whole number in 1..250"},
		{[]string{"fewshot", "-dir", dir, "-seeds", "0"}, 2, "flag -seeds: want a whole number in 1..1000"},
		{[]string{"probe", "-dir", dir, "-epochs", "x"}, 2, "flag -epochs: want a whole number in 1..100000"},
	} {
		code, _, errOut := runVit(t, tc.args...)
		if code != tc.code || !strings.Contains(errOut, tc.want) {
			t.Errorf("vit %v: exit %d, stderr %q; want exit %d and %q", tc.args[len(tc.args)-2:], code, errOut, tc.code, tc.want)
		}
	}
}

// TestFinetuneFromWeights fine-tunes the small Google .npz fixture (16x16 RGB, 5 classes) on a 2-class folder at
// 8x8: the head is replaced by a zero one, the position embeddings resampled, and the model learns the task.
func TestFinetuneFromWeights(t *testing.T) {
	data := writeFolderDataset(t, 40)
	dir := filepath.Join(t.TempDir(), "ft")
	npz := filepath.Join("..", "..", "vitnb", "weights", "testdata", "google.npz")
	code, out, errOut := runVit(t, "finetune", "-weights", npz, "-data", "folder:"+data, "-image-size", "8",
		"-steps", "150", "-warmup", "10", "-lr", "0.03", "-batch", "16", "-progress=false", "-dir", dir)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	r := readResults(t, dir)
	if r.Model.NumClasses != 2 || r.Model.ImageSize != 8 || r.Model.Width != 24 || r.Model.GELU != "tanh" {
		t.Errorf("fine-tuned model %s: want the checkpoint's width 24 and tanh GELU, 2 classes at 8 px", r.Model)
	}
	if r.Weights != npz || r.Command != "finetune" {
		t.Errorf("results of a fine-tuning of %s: weights %q, command %q", npz, r.Weights, r.Command)
	}
	if r.Optimizer.Kind != "sgd" || r.Optimizer.ClipNorm != 1 || r.Metrics.Top1 < 0.9 {
		t.Errorf("optimizer %s clip %g, top-1 %.3f; want sgd, clip 1 and at least 0.9", r.Optimizer.Kind,
			r.Optimizer.ClipNorm, r.Metrics.Top1)
	}
	if code, _, errOut := runVit(t, "finetune", "-weights", npz, "-from", dir, "-data", "folder:"+data); code != 2 ||
		!strings.Contains(errOut, "give one of") {
		t.Errorf("-weights with -from: exit %d, %q", code, errOut)
	}
}

// TestPretrainAccumulateAugment trains with 2-batch gradient accumulation, small-image augmentation (pad-crop;
// not -flip, which swaps this data set's left and right classes) and label smoothing: the run learns, and results.json records the effective batch and the recipe.
func TestPretrainAccumulateAugment(t *testing.T) {
	data := writeFolderDataset(t, 40)
	dir := filepath.Join(t.TempDir(), "acc")
	args := append(tinyTrainArgs(data, dir, 150), "-accumulate", "2", "-pad-crop", "1", "-label-smoothing", "0.1")
	if code, out, errOut := runVit(t, args...); code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	r := readResults(t, dir)
	if r.Steps != 150 || r.Accumulate != 2 || r.BatchSize != 32 || r.Augmentation != "pad-crop(1)" || r.LabelSmoothing != 0.1 {
		t.Errorf("results: steps %d, accumulate %d, batch %d, augmentation %q, label smoothing %g", r.Steps, r.Accumulate,
			r.BatchSize, r.Augmentation, r.LabelSmoothing)
	}
	if r.Metrics.Top1 < 0.9 {
		t.Errorf("top-1 %.3f after 150 accumulated steps, want >= 0.9", r.Metrics.Top1)
	}
}

// TestPretrainRecipe starts from the fashion-mnist-91 recipe: its optimizer, augmentation and model (mean pooling,
// 2 heads) apply, flags given override them (steps, batch, data, width), and a default warm-up longer than the run
// is shortened with a line instead of refused.
func TestPretrainRecipe(t *testing.T) {
	data := writeFolderDataset(t, 8)
	dir := filepath.Join(t.TempDir(), "recipe")
	code, out, errOut := runVit(t, "pretrain", "-recipe", "fashion-mnist-91", "-data", "folder:"+data, "-image-size", "8",
		"-patch", "4", "-width", "16", "-depth", "1", "-mlp", "32", "-steps", "10", "-batch", "8", "-progress=false",
		"-workers", "1", "-dir", dir)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	r := readResults(t, dir)
	if r.Optimizer.LearningRate != 1.5e-3 || r.Optimizer.WarmupSteps != 2 || r.Model.Pooling != "gap" || r.Model.Heads != 2 ||
		r.Model.Width != 16 || r.BatchSize != 8 || r.Augmentation != "pad-crop(1)+flip" || r.Steps != 10 {
		t.Errorf("results of the recipe run: %+v", r)
	}
	if !strings.Contains(errOut, "warm-up shortened to 2 steps") {
		t.Errorf("no line about the shortened warm-up: %q", errOut)
	}
	for _, args := range [][]string{{"pretrain", "-recipe", "nosuch"}, {"finetune", "-recipe", "fashion-mnist-91", "-from", dir}} {
		if code, _, errOut := runVit(t, args...); code != 2 || !strings.Contains(errOut, "recipe") {
			t.Errorf("vit %v: exit %d, %q", args, code, errOut)
		}
	}
}

// TestResumeOverride: resuming a run with another -steps is refused, naming the setting, until -override names it;
// the first line of the resumed run says where it resumes from.
func TestResumeOverride(t *testing.T) {
	data := writeFolderDataset(t, 8)
	dir := filepath.Join(t.TempDir(), "run")
	if code, out, errOut := runVit(t, tinyTrainArgs(data, dir, 12)...); code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	if err := os.Remove(filepath.Join(dir, training.ResultsFile)); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := runVit(t, append(tinyTrainArgs(data, dir, 20), "-resume")...)
	if code == 0 || !strings.Contains(errOut, "TotalSteps was 12, now 20") {
		t.Fatalf("resume with -steps 20: exit %d, %q", code, errOut)
	}
	code, out, errOut := runVit(t, append(tinyTrainArgs(data, dir, 20), "-resume", "-override", "steps")...)
	if code != 0 || !strings.HasPrefix(out, "resuming from step 12") || readResults(t, dir).Steps != 20 {
		t.Fatalf("resume with -override steps: exit %d\n%s\n%s", code, out, errOut)
	}
	// The run is finished: -resume with another setting is refused too, and more steps train on.
	if code, _, errOut := runVit(t, append(tinyTrainArgs(data, dir, 20), "-resume", "-lr", "0.5")...); code == 0 ||
		!strings.Contains(errOut, "LearningRate was 0.003, now 0.5") {
		t.Fatalf("resume of a finished run with -lr 0.5: exit %d, %q", code, errOut)
	}
	if code, _, errOut := runVit(t, append(tinyTrainArgs(data, dir, 20), "-resume", "-lr", "0.5", "-override", "lr")...); code == 0 ||
		!strings.Contains(errOut, "finished at step 20: its settings cannot change") {
		t.Fatalf("resume of a finished run with -override lr and no more steps: exit %d, %q", code, errOut)
	}
	// The first line says where the run resumes; each accepted change is said once.
	if code, out, errOut := runVit(t, append(tinyTrainArgs(data, dir, 24), "-resume", "-override", "steps")...); code != 0 ||
		!strings.HasPrefix(out, "resuming from step 20") || !strings.Contains(out, "the run had finished at step 20: it trains on to step 24") ||
		strings.Count(out, "TotalSteps: 20 -> 24") != 1 || readResults(t, dir).Steps != 24 {
		t.Fatalf("resume of a finished run with -steps 24: exit %d\n%s\n%s", code, out, errOut)
	}
}

// TestTrainRefusesForeignFolder: pretraining into a project folder and fine-tuning timm weights into their own
// folder are refused in one line naming the file in the way, and nothing there changes. Before, the first overwrote
// config.json, model.json and results.json and deleted .staging/thesis.tex; the second replaced timm's config.json.
func TestTrainRefusesForeignFolder(t *testing.T) {
	data := writeFolderDataset(t, 4)
	proj, timm := t.TempDir(), t.TempDir()
	files := map[string]string{
		filepath.Join(proj, "config.json"): `{"title": "thesis"}`, filepath.Join(proj, "model.json"): `{"a": 1}`,
		filepath.Join(proj, "results.json"): `{"b": 2}`, filepath.Join(proj, ".staging", "thesis.tex"): `\chapter{1}`,
		filepath.Join(timm, "config.json"): `{"architecture": "vit_tiny_patch16_224", "num_classes": 5, "model_args": {"num_heads": 3}}`,
	}
	weights, err := os.ReadFile(filepath.Join("..", "..", "vitnb", "weights", "testdata", "timm.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	files[filepath.Join(timm, "model.safetensors")] = string(weights)
	for path, content := range files {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, args := range [][]string{
		tinyTrainArgs(data, proj, 20),
		{"finetune", "-weights", filepath.Join(timm, "model.safetensors"), "-data", "folder:" + data, "-steps", "20",
			"-warmup", "1", "-batch", "16", "-image-size", "8", "-progress=false", "-dir", timm},
	} {
		dir := args[len(args)-1]
		code, _, errOut := runVit(t, args...)
		// The last line of stderr (the one before it says which backend runs).
		lines := strings.Split(strings.TrimSuffix(errOut, "\n"), "\n")
		want := "vit " + args[0] + ": not a vitnb run folder: " + dir + " holds config.json, which vitnb did not write"
		if code != 1 || !strings.HasPrefix(lines[len(lines)-1], want) || len(lines) > 2 {
			t.Errorf("vit %s -dir %s: exit %d, stderr %q; want exit 1 and one line %q...", args[0], dir, code, errOut, want)
		}
		entries, _ := os.ReadDir(dir)
		want2 := map[string]int{proj: 4, timm: 2}[dir]
		if len(entries) != want2 {
			t.Errorf("vit %s -dir %s: the folder holds %d entries, want %d", args[0], dir, len(entries), want2)
		}
	}
	for path, content := range files {
		if got, err := os.ReadFile(path); err != nil || string(got) != content {
			t.Errorf("%s changed or deleted (%v)", path, err)
		}
	}
}
