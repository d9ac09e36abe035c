package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestUnreadableImagesSkipped: one unreadable image in the evaluation split made `vit pretrain` exit 1 after
// training, without results.json, and `vit eval` fail; now it is skipped and counted in training and evaluation
// alike, with its name, and what the folder loader left out is said.
func TestUnreadableImagesSkipped(t *testing.T) {
	data := writeFolderDataset(t, 8)
	for _, p := range []string{filepath.Join(data, "test", "left", "zz.png"), filepath.Join(data, "train", "right", "bad.png")} {
		if err := os.WriteFile(p, []byte("not a png"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(data, "train", "left", "notes.txt"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "run")
	code, out, errOut := runVit(t, tinyTrainArgs(data, dir, 20)...)
	if code != 0 {
		t.Fatalf("pretrain: exit %d\n%s\n%s", code, out, errOut)
	}
	for _, want := range []string{"warning: " + filepath.Join(data, "train") + ": files without an image extension ignored: 1",
		"training: 1 images could not be read and were skipped (" + filepath.Join(data, "train", "right", "bad.png"),
		"1 images could not be read and were skipped (" + filepath.Join(data, "test", "left", "zz.png") + ": not a decodable image"} {
		if !strings.Contains(out, want) {
			t.Errorf("pretrain output lacks %q:\n%s", want, out)
		}
	}
	m := readResults(t, dir).Metrics
	if m.Examples != 16 || m.Skipped != 1 || len(m.SkippedImages) != 1 || !strings.Contains(m.SkippedImages[0], "zz.png") {
		t.Errorf("results: %d examples, skipped %d %q", m.Examples, m.Skipped, m.SkippedImages)
	}
	code, out, errOut = runVit(t, "eval", "-dir", dir, "-data", "folder:"+data, "-workers", "1")
	if code != 0 || !strings.Contains(out, "16 examples") || !strings.Contains(out, "1 images could not be read") ||
		!strings.Contains(errOut, "warning: ") {
		t.Errorf("eval: exit %d\n%s\n%s", code, out, errOut)
	}
}
