package bench

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vitnb/vitnb/vitnb"
	"github.com/vitnb/vitnb/vitnb/backend"
)

func TestOptionsValidate(t *testing.T) {
	good := Options{Mode: "train", Batch: 8, Devices: 2, MinSteps: 1, MinTime: time.Second, Matmul: 1024}
	if err := good.Validate(); err != nil {
		t.Fatalf("%+v: %v", good, err)
	}
	for _, tc := range []struct {
		change func(*Options)
		want   string
	}{
		{func(o *Options) { o.Mode = "fly" }, "-mode"},
		{func(o *Options) { o.Batch = 0 }, "-batch"},
		{func(o *Options) { o.MinSteps = 0 }, "-steps"},
		{func(o *Options) { o.Warmup = -1 }, "-warmup"},
		{func(o *Options) { o.MinTime = -time.Second }, "-time"},
		{func(o *Options) { o.Matmul = 16385 }, "-matmul"},
		{func(o *Options) { o.Devices = 0 }, "-devices 0"},
		{func(o *Options) { o.Devices = 3 }, "divides -batch 8"},
		{func(o *Options) { o.Mode = "infer" }, "-mode train for more than one"},
	} {
		o := good
		tc.change(&o)
		if err := o.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want an error with %q", o, err, tc.want)
		}
	}
}

// TestRunCPUProfilePath: Run refuses bad options before it builds anything, and writes the CPU profile of the
// timed steps to the file CPUProfilePath names.
func TestRunCPUProfilePath(t *testing.T) {
	b, _, err := backend.New()
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := vitnb.Preset("micro28")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Run(b, cfg, Options{Mode: "infer", Batch: 2}); err == nil || !strings.Contains(err.Error(), "-steps") {
		t.Errorf("Run without steps: %v", err)
	}
	path := filepath.Join(t.TempDir(), "cpu.pprof")
	r, err := Run(b, cfg, Options{Mode: "infer", Batch: 2, MinSteps: 1, CPUProfilePath: path})
	if err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(path); err != nil || st.Size() == 0 || r.Steps < 1 || r.Devices != 1 || r.CPUStepSeconds <= 0 ||
		r.Attention != string(backend.AttentionDecomposed) && b.String() == "go" {
		t.Errorf("profile %s: %v; result %+v", path, err, r)
	}
	if _, err := Run(b, cfg, Options{Mode: "infer", Batch: 2, MinSteps: 1, CPUProfilePath: t.TempDir()}); err == nil ||
		!strings.Contains(err.Error(), "CPU profile") {
		t.Errorf("profile into a folder: %v", err)
	}
	// A profile that cannot be written is an error (pprof ignores write errors: this reported success).
	if _, err := os.Stat("/dev/full"); err == nil {
		if _, err := Run(b, cfg, Options{Mode: "infer", Batch: 2, MinSteps: 1, CPUProfilePath: "/dev/full"}); err == nil ||
			!strings.Contains(err.Error(), "CPU profile: writing /dev/full: ") {
			t.Errorf("profile into /dev/full: %v", err)
		}
	}
}
