package main

import (
	"bytes"
	"encoding/json"
	"image"
	"image/color"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/vitnb/vitnb/vitnb/classifier"

	"github.com/vitnb/vitnb/datasets/datasetstest"

	"github.com/vitnb/vitnb/vitnb/bench"

	"github.com/vitnb/vitnb/vitnb/backend"
)

// runVit runs the vit command line in-process and returns its exit status, stdout and stderr.
// prediction is what `vit predict -json` prints for each image.
type prediction = classifier.Report

func runVit(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := runMain(args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func TestParamsB16(t *testing.T) {
	code, out, errOut := runVit(t, "params", "B/16")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if last := lines[len(lines)-1]; last != "total 86567656" {
		t.Errorf("last line %q, want %q", last, "total 86567656")
	}
	if !strings.Contains(out, "attention (12 blocks)") {
		t.Errorf("table misses the attention row:\n%s", out)
	}
	// Flags after the preset override it: a 10-class head has 769000-7690 fewer parameters.
	_, out, _ = runVit(t, "params", "B/16", "-classes", "10")
	if !strings.HasSuffix(strings.TrimSpace(out), "total 85806346") {
		t.Errorf("with -classes 10: %q", out)
	}
}

func TestUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"params"}, "one preset name"},
		{[]string{"params", "B/17"}, "unknown preset"},
		{[]string{"params", "B/16", "-bogus"}, "flag provided but not defined"},
		{[]string{"params", "B/16", "-image-size", "200"}, "not divisible by the patch size"},
		{[]string{"predict", "-preset", "micro32"}, "-image FILE is required"},
		{[]string{"predict", "-image", "x.png", "-dtype", "int8"}, "-dtype"},
		{[]string{"frobnicate"}, "unknown command"},
		{[]string{"params", "micro28", "-depth", "2000000000"}, "more than 1000 blocks"}, // refused before looping
		{[]string{"pretrain", "-override", "lr"}, "needs -resume"},
		// (2^32)^2 patches wrapped to 0 in 64 bits: this printed "(1 tokens)" and exited 0.
		{[]string{"params", "B/16", "-image-size", "4294967296", "-patch", "1"}, "more than 65536 pixels a side"},
	} {
		code, _, errOut := runVit(t, tc.args...)
		if code != 2 || !strings.Contains(errOut, tc.want) {
			t.Errorf("vit %v: exit %d, stderr %q; want exit 2 and %q", tc.args, code, errOut, tc.want)
		}
		if strings.Contains(errOut, "goroutine") {
			t.Errorf("vit %v printed a stack trace: %s", tc.args, errOut)
		}
	}
	if code, _, _ := runVit(t, "params", "-h"); code != 0 {
		t.Errorf("vit params -h: exit %d, want 0", code)
	}
}

func writePNG(t *testing.T, w, h int) string {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, color.RGBA{uint8(x * 255 / w), uint8(y * 255 / h), 128, 255})
		}
	}
	path := filepath.Join(t.TempDir(), "image.png")
	datasetstest.WritePNG(t, path, img)
	return path
}

func TestPredictJSON(t *testing.T) {
	path := writePNG(t, 50, 40)
	code, out, errOut := runVit(t, "predict", "-preset", "micro32", "-image", path, "-json", "-topk", "3")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.Contains(errOut, "backend ") {
		t.Errorf("stderr should say which backend runs and why, got %q", errOut)
	}
	var p prediction
	if err := json.Unmarshal([]byte(out), &p); err != nil {
		t.Fatalf("stdout is not one JSON object: %v\n%s", err, out)
	}
	if len(p.Logits) != 10 || len(p.Top) != 3 {
		t.Fatalf("got %d logits and %d top classes, want 10 and 3", len(p.Logits), len(p.Top))
	}
	if p.Top[0].Logit < p.Top[1].Logit || p.Logits[p.Top[0].Class] != p.Top[0].Logit {
		t.Errorf("top classes not sorted or not matching the logits: %+v", p.Top)
	}
	// Without -weights the head is initialised to zero as in the reference code (models_vit.py
	// head_kernel_init), so every logit is 0 and every class equally likely.
	for _, l := range p.Logits {
		if l != 0 {
			t.Fatalf("random-weight logits should all be 0 (zero-initialised head), got %v", p.Logits)
		}
	}
	if d := p.Top[0].Probability - 0.1; d > 1e-6 || d < -1e-6 {
		t.Errorf("probability %g, want 0.1", p.Top[0].Probability)
	}
}

func TestPredictBadImage(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.png")
	if err := os.WriteFile(bad, []byte("not an image"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := runVit(t, "predict", "-preset", "micro32", "-image", bad)
	if code != 1 || !strings.Contains(errOut, bad) || !strings.Contains(errOut, "not a decodable image") {
		t.Errorf("exit %d, stderr %q; want exit 1 naming the file", code, errOut)
	}
	code, _, errOut = runVit(t, "predict", "-preset", "micro32", "-image", "/nonexistent.png")
	if code != 1 || !strings.Contains(errOut, "/nonexistent.png") {
		t.Errorf("exit %d, stderr %q; want exit 1 naming the missing file", code, errOut)
	}
}

func TestInfo(t *testing.T) {
	code, out, errOut := runVit(t, "info")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"backend:", "why:", "attention: ", "gomlx:     v0.28.16", "go:        go1.27"} {
		if !strings.Contains(out, want) {
			t.Errorf("vit info misses %q:\n%s", want, out)
		}
	}
}

// TestRestartWithMallocTunables runs vit as a separate process, as main does: it restarts itself with glibc's
// huge-page tunable, keeping what the user had in GLIBC_TUNABLES, and vit info reports it.
func TestRestartWithMallocTunables(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("glibc tunables are a Linux matter; vit does not restart elsewhere")
	}
	for _, tc := range []struct{ before, want string }{
		{"", "GLIBC_TUNABLES=" + backend.MallocTunables},
		{"glibc.malloc.arena_max=4", "GLIBC_TUNABLES=glibc.malloc.arena_max=4:" + backend.MallocTunables},
		{"glibc.malloc.hugetlb=0", "GLIBC_TUNABLES=glibc.malloc.hugetlb=0"},
	} {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "VIT_AS_MAIN=restart", "VIT_ARGS=info", "GLIBC_TUNABLES="+tc.before)
		out, err := cmd.CombinedOutput()
		// The malloc line is "malloc:    GLIBC_TUNABLES=...", then "; kernel ..." where the kernel says its mode.
		var got string
		for _, line := range strings.Split(string(out), "\n") {
			if rest, ok := strings.CutPrefix(line, "malloc:    "); ok {
				got, _, _ = strings.Cut(rest, ";")
			}
		}
		if err != nil || got != tc.want {
			t.Errorf("GLIBC_TUNABLES=%q: vit info says malloc %q (%v)\n%s\nwant %q", tc.before, got, err, out, tc.want)
		}
	}
}

func TestBenchJSON(t *testing.T) {
	t.Setenv("VITNB_CACHE", t.TempDir()) // Where the matrix-product ceiling is kept.
	code, out, errOut := runVit(t, "bench", "-preset", "micro32", "-batch", "4", "-mode", "train", "-steps", "2",
		"-time", "0s", "-warmup", "1", "-matmul", "64", "-json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var r bench.Result
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("not one JSON object: %v\n%s", err, out)
	}
	if r.ImagesPerSecond <= 0 || r.GFLOPs <= 0 || r.Backend == "" || r.Steps < 2 || r.FLOPsPerImage <= 0 || r.MatmulGFLOPs <= 0 ||
		r.Attention == "" || !r.MatmulMeasured.IsZero() {
		t.Errorf("incomplete result: %+v", r)
	}
	if _, err := os.Stat("/proc/cpuinfo"); err == nil && runtime.GOARCH == "amd64" &&
		(r.PeakGFLOPs <= 0 || math.Abs(r.FractionOfPeak-r.GFLOPs/r.PeakGFLOPs) > 1e-9 || !strings.Contains(r.PeakNote, "FLOP/cycle")) {
		t.Errorf("peak: %g GFLOP/s (%q), fraction %g", r.PeakGFLOPs, r.PeakNote, r.FractionOfPeak)
	}
	if code, _, errOut := runVit(t, "bench", "-mode", "fly"); code != 2 || !strings.Contains(errOut, "-mode") {
		t.Errorf("bad -mode: exit %d, %q", code, errOut)
	}
}
