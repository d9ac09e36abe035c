package nb

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vitnb/vitnb/vitnb"
	"github.com/vitnb/vitnb/vitnb/training"
)

// writeRun writes a results file as a run would, in root/name, and returns the run folder.
func writeRun(t *testing.T, root, name string, r training.Results) string {
	t.Helper()
	dir := filepath.Join(root, name)
	if r.Metrics == nil {
		r.Metrics = &training.Metrics{Examples: 100}
	}
	r.Finished = time.Now()
	if err := training.WriteResults(filepath.Join(dir, training.ResultsFile), &r); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestTable2 writes results files as `vit pretrain`, `vit finetune` and `vit eval` would, in two folders (the
// notebooks' runs and a terminal's runs/), and checks which cell each lands in, with what cost.
func TestTable2(t *testing.T) {
	notebookRuns, terminalRuns := t.TempDir(), t.TempDir()
	micro := vitnb.Config{Name: "micro28"}
	pre := writeRun(t, notebookRuns, "fashion", training.Results{Command: "pretrain", Model: micro, Data: "fashion-mnist",
		EvalSplit: "test", Backend: "xla:cpu", Steps: 500, BatchSize: 64, WallSeconds: 100, TrainExamples: 60000,
		Metrics: &training.Metrics{Top1: 0.8}})
	// Two fine-tunings on MNIST on the CPU, the second better; one nested in the pretraining's folder.
	writeRun(t, pre, "finetune-a", training.Results{Command: "finetune", Model: micro, Data: "mnist", EvalSplit: "test",
		Backend: "xla:cpu", Steps: 200, BatchSize: 64, WallSeconds: 40, TrainExamples: 1000, From: pre,
		Metrics: &training.Metrics{Top1: 0.90}})
	writeRun(t, terminalRuns, "finetune-b", training.Results{Command: "finetune", Model: micro, Data: "mnist",
		EvalSplit: "test", Backend: "go:ops_sequential", Steps: 300, BatchSize: 64, WallSeconds: 50, TrainExamples: 1000,
		From: pre, Metrics: &training.Metrics{Top1: 0.925}})
	// A from-scratch run on MNIST: not a transfer result.
	writeRun(t, terminalRuns, "scratch", training.Results{Command: "pretrain", Model: micro, Data: "mnist",
		EvalSplit: "test", Backend: "xla:cpu", Steps: 300, BatchSize: 64, Metrics: &training.Metrics{Top1: 0.99}})
	// CIFAR-10 on a GPU, from a vitnb run whose results are gone, then evaluated again by `vit eval`.
	gpu := writeRun(t, terminalRuns, "cifar-gpu", training.Results{Command: "finetune", Model: vitnb.Config{Name: "tiny32"},
		Data: "cifar10", EvalSplit: "validation", Backend: "xla:cuda", Steps: 1000, BatchSize: 512, WallSeconds: 3700,
		TrainExamples: 49000, From: filepath.Join(terminalRuns, "missing"), Metrics: &training.Metrics{Top1: 0.95}})
	if err := training.WriteResults(filepath.Join(gpu, "results-eval-cifar10-test.json"), &training.Results{
		Command: "eval", Model: vitnb.Config{Name: "tiny32"}, Data: "cifar10", EvalSplit: "test", Backend: "xla:cuda",
		From: gpu, WallSeconds: 3, Metrics: &training.Metrics{Top1: 0.9412}}); err != nil {
		t.Fatal(err)
	}
	// Public ImageNet-21k weights fine-tuned on CIFAR-100 (on a GPU, but the column is the public weights').
	writeRun(t, terminalRuns, "b16-cifar100", training.Results{Command: "finetune", Model: vitnb.Config{Name: "ViT-B/16"},
		Data: "cifar100", EvalSplit: "test", Backend: "xla:cuda", Steps: 10000, BatchSize: 512, WallSeconds: 7200,
		TrainExamples: 49000, Weights: "ViT-B_16.npz", Metrics: &training.Metrics{Top1: 0.9206}})
	// A broken file is reported, not fatal.
	if err := os.WriteFile(filepath.Join(terminalRuns, "results.json"), []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}

	table, err := BuildTable2(notebookRuns, terminalRuns, filepath.Join(terminalRuns, "does-not-exist"))
	if err != nil {
		t.Fatal(err)
	}
	if table.Found != 7 || table.Used != 4 || len(table.Skipped) != 1 {
		t.Fatalf("found %d, used %d, skipped %v", table.Found, table.Used, table.Skipped)
	}
	row := func(name string) Table2Row {
		for _, r := range table.Rows {
			if r.Benchmark == name {
				return r
			}
		}
		t.Fatalf("no row %q", name)
		return Table2Row{}
	}
	mnist := row("mnist")
	if mnist.InPaper || mnist.Yours[0] == nil || mnist.Yours[1] != nil || mnist.Yours[2] != nil {
		t.Fatalf("mnist row %+v", mnist)
	}
	if m := mnist.Yours[0]; m.Top1 != 0.925 || m.Runs != 2 || !m.Pretrained || m.WallSeconds != 150 ||
		m.ImagesSeen != 500*64+300*64 || m.Backend != "go:ops_sequential" {
		t.Fatalf("mnist CPU cell %+v", m)
	}
	c10 := row("CIFAR-10")
	if !c10.InPaper || c10.Paper[0] != "99.50" || c10.Yours[0] != nil || c10.Yours[1] == nil {
		t.Fatalf("CIFAR-10 row %+v", c10)
	}
	if m := c10.Yours[1]; m.Top1 != 0.9412 || m.Pretrained || m.WallSeconds != 3700 || m.ImagesSeen != 512000 {
		t.Fatalf("CIFAR-10 GPU cell (from vit eval) %+v", m)
	}
	if m := row("CIFAR-100").Yours[2]; m == nil || m.Weights != "ViT-B_16.npz" || m.Top1 != 0.9206 {
		t.Fatalf("CIFAR-100 public-weights cell %+v", m)
	}
	if r := row("ImageNet"); r.Yours[0] != nil || r.Paper[4] != "88.5" {
		t.Fatalf("ImageNet row %+v", r)
	}
	for _, r := range table.Rows {
		if r.Benchmark == "fashion-mnist" {
			t.Fatal("a pretraining is in the table")
		}
	}

	h := table.HTML()
	for _, want := range []string{"<b>92.50</b>", "best of 2 runs", "2m30s incl. pretraining on go:ops_sequential",
		"51.2k images seen", "<b>94.12</b>", "1h01m (pretraining not found) on xla:cuda", "public pretraining (not measured)",
		"MNIST handwritten digits<br><small style=\"color:#777\">not in the paper", "0.23k TPUv3-core-days", "ICLR 2021, Table 2", "1 files could not be read"} {
		if !strings.Contains(h, want) {
			t.Errorf("the table has no %q", want)
		}
	}
	// 7 paper rows + mnist, 3 scales: 24 of the user's cells, 3 filled.
	// Each filled cell names the runs it read, the chosen one first.
	if want := "<li>MNIST handwritten digits, your runs on a CPU: <b>finetune-b (92.50)</b>, finetune-a (90.00)</li>"; !strings.Contains(h, want) {
		t.Errorf("the table does not name the runs of the MNIST cell as %q", want)
	}
	if n := strings.Count(h, "<li>"); n != 3 {
		t.Errorf("%d cells name their runs, want 3", n)
	}
	if n := strings.Count(h, "not run"); n != 21 {
		t.Errorf("%d cells say not run, want 21", n)
	}
	if strings.Contains(h, "<script") {
		t.Error("the table has a script")
	}
}

func TestFormats(t *testing.T) {
	for _, c := range []struct {
		s    float64
		want string
	}{{44.6, "45s"}, {192, "3m12s"}, {7500, "2h05m"}} {
		if got := Duration(c.s); got != c.want {
			t.Errorf("Duration(%g) = %q, want %q", c.s, got, c.want)
		}
	}
	for n, want := range map[int]string{950: "950", 12800: "12.8k", 32000: "32k", 1500000: "1.5M"} {
		if got := count(n); got != want {
			t.Errorf("count(%d) = %q, want %q", n, got, want)
		}
	}
}
