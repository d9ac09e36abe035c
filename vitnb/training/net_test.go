package training

import (
	"strings"
	"testing"

	"github.com/vitnb/vitnb/vitnb/cnn"
)

// A Net other than the ViT trains through the same Run (checkpoints, resume, config.json) and evaluates: the CNN
// baseline of package cnn learns the stripes, and resuming its folder as a ViT run is refused.
func TestTrainNet(t *testing.T) {
	net := cnn.Config{Name: "cnn-test", ImageSize: 8, Channels: 1, Filters: []int{8, 16}, KernelSize: 3, NumClasses: 2}
	dir := t.TempDir()
	r, err := runFor(t, dir, 60, false, &stripes{seed: 1, batch: 16}, func(c *Config) { c.Net = net })
	if err != nil {
		t.Fatal(err)
	}
	m, err := EvaluateNet(r.Backend, r.Store, net, &stripes{seed: 99, batch: 50, batches: 4})
	if err != nil {
		t.Fatal(err)
	}
	if m.Examples != 200 || m.Top1 < 0.95 {
		t.Errorf("CNN after 60 steps: %d examples, top-1 %.3f; want 200 and >= 0.95", m.Examples, m.Top1)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	r, err = runFor(t, dir, 70, true, &stripes{seed: 1, batch: 16}, func(c *Config) { c.Net = net; c.Overrides = []string{"optimizer.TotalSteps"} })
	if err != nil || r.Step() != 70 {
		t.Fatalf("resuming the CNN run: %v", err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	_, err = runFor(t, dir, 80, true, &stripes{seed: 1, batch: 16}, func(c *Config) { c.Overrides = []string{"optimizer.TotalSteps"} })
	if err == nil || !strings.Contains(err.Error(), "another architecture") {
		t.Fatalf("resuming a CNN run as a ViT: %v", err)
	}
}
