package main

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"image"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vitnb/vitnb/datasets/datasetstest"
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

// pngAt writes a w x h PNG at path, making its folder.
func pngAt(t *testing.T, path string, w, h int) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	datasetstest.WritePNG(t, path, image.NewRGBA(image.Rect(0, 0, w, h)))
}

// hugePNGHeader is a PNG whose header claims w x h pixels of 8-bit RGB, and whose data stops there.
func hugePNGHeader(w, h uint32) []byte {
	ihdr := binary.BigEndian.AppendUint32(nil, w)
	ihdr = binary.BigEndian.AppendUint32(ihdr, h)
	ihdr = append(ihdr, 8, 2, 0, 0, 0)
	chunk := append(binary.BigEndian.AppendUint32(nil, uint32(len(ihdr))), "IHDR"...)
	chunk = append(chunk, ihdr...)
	chunk = binary.BigEndian.AppendUint32(chunk, crc32.ChecksumIEEE(chunk[4:]))
	return append([]byte("\x89PNG\r\n\x1a\n"), chunk...)
}

// TestHostileFolderCommands: a folder that fights back (issue 23: nested folders, hidden files, non-images, a
// corrupt file, a class of one image, images of 1x1 and of 20,000x20,000 pixels, one class only) through the
// commands that take folders: `vit data show`, `vit data sample` and `vit pretrain` say what they leave out in a
// line each, skip what they cannot read with its name and reason, and end with exit 0, no stack trace.
func TestHostileFolderCommands(t *testing.T) {
	data := t.TempDir()
	for i := range 6 {
		pngAt(t, filepath.Join(data, "cats", fmt.Sprintf("%d.png", i)), 9, 7)
		pngAt(t, filepath.Join(data, "dogs", "nested", "deeper", fmt.Sprintf("%d.png", i)), 5, 11)
	}
	pngAt(t, filepath.Join(data, "owl", "only.png"), 1, 1)                                             // a class of one image, 1x1 pixels
	pngAt(t, filepath.Join(data, "cats", ".hidden.png"), 3, 3)                                         // hidden
	if err := os.WriteFile(filepath.Join(data, "cats", "notes.txt"), []byte("x"), 0o644); err != nil { // not an image
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(data, "dogs", "broken.jpg"), []byte("not a jpeg"), 0o644); err != nil { // corrupt
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(data, "dogs", "huge.png"), hugePNGHeader(20000, 20000), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := vitData(t, "show", "folder:"+data)
	if code != 0 || !strings.Contains(out, "classes:   3") || !strings.Contains(out, "hidden files or folders ignored: 1") ||
		!strings.Contains(out, "files without an image extension ignored: 1") || !strings.Contains(out, "2 owl") {
		t.Errorf("show: exit %d\n%s\n%s", code, out, errOut)
	}
	grid := filepath.Join(t.TempDir(), "grid.png")
	code, out, errOut = vitData(t, "sample", "folder:"+data, "-n", "16", "-size", "16", "-o", grid)
	if code != 0 || !strings.Contains(out+errOut, "huge.png") || !strings.Contains(out+errOut, "above the limit") ||
		!strings.Contains(out+errOut, "broken.jpg") {
		t.Errorf("sample: exit %d\n%s\n%s", code, out, errOut)
	}
	dir := filepath.Join(t.TempDir(), "run")
	code, out, errOut = runVit(t, append(tinyTrainArgs(data, dir, 12), "-split", "validation", "-holdout", "0.3")...)
	if code != 0 || strings.Contains(errOut, "goroutine ") || !strings.Contains(out, "could not be read and were skipped") ||
		!strings.Contains(out, "huge.png") {
		t.Errorf("pretrain: exit %d\n%s\n%s", code, out, errOut)
	}

	one := t.TempDir()
	for i := range 3 {
		pngAt(t, filepath.Join(one, "only", fmt.Sprintf("%d.png", i)), 4, 4)
	}
	code, out, errOut = vitData(t, "show", "folder:"+one)
	if code != 0 || strings.Count(out, "one class only (only)") != 1 {
		t.Errorf("one class: exit %d\n%s\n%s", code, out, errOut)
	}
}
