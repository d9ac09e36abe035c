package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestErrorsInOneLine: a wrong weights file or image is one line naming the file and the real cause. These were
// 153 lines (a checkpoint of another size than -preset), "first bytes )" (a folder as an image), "only -8 bytes
// follow" (/dev/zero as weights) and the whole catalog (a weights path that does not exist).
func TestErrorsInOneLine(t *testing.T) {
	img := writePNG(t, 16, 16)
	timm := filepath.Join("..", "..", "vitnb", "weights", "testdata", "timm.safetensors")
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.safetensors")
	cases := [][2][]string{
		{{"-weights", timm, "-heads", "3", "-preset", "B/16", "-image", img},
			{timm + ": the timm checkpoint does not fit ViT B/16", "keys 120 missing (missing: ", "and 118 more"}},
		// A folder is read as its images (predict takes a folder of photos): one without any says so.
		{{"-preset", "micro32", "-image", dir}, {"image folder " + dir + " has no images (extensions .bmp"}},
		{{"-weights", dir, "-image", img}, {dir + " is a folder: give the weights file in it"}},
		{{"-weights", missing, "-image", img}, {"weights file " + missing + ": no such file or directory"}},
	}
	// A preprocessor_config.json with a zero std: the file is named, not each image.
	hf := t.TempDir()
	for _, name := range []string{"model.safetensors", "config.json"} {
		data, err := os.ReadFile(filepath.Join("..", "..", "vitnb", "weights", "testdata", "hf", name))
		if err != nil {
			t.Fatal(err)
		}
		writeBytes(t, filepath.Join(hf, name), data)
	}
	writeBytes(t, filepath.Join(hf, "preprocessor_config.json"), []byte(`{"image_mean":[0.5,0.5,0.5],"image_std":[0,1,1]}`))
	cases = append(cases, [2][]string{{"-weights", filepath.Join(hf, "model.safetensors"), "-image", img},
		{"the preprocessing beside it: " + filepath.Join(hf, "preprocessor_config.json") + ": preprocessing: channel 0 has mean 0.5 and std 0"}})
	if _, err := os.Stat("/dev/zero"); err == nil {
		cases = append(cases, [2][]string{{"-weights", "/dev/zero", "-image", img},
			{"/dev/zero is not a weights file but a device, a pipe or a socket"}})
	}
	for _, c := range cases {
		code, out, errOut := runVit(t, append([]string{"predict"}, c[0]...)...)
		var lines []string
		for _, l := range strings.Split(strings.TrimSpace(errOut), "\n") {
			if !strings.HasPrefix(l, "backend ") { // the line saying which backend runs
				lines = append(lines, l)
			}
		}
		if code != 1 || out != "" || len(lines) != 1 || !strings.HasPrefix(lines[0], "vit predict: ") || len(lines[0]) > 700 {
			t.Errorf("predict %q: exit %d, stdout %q, %d lines: %q", c[0], code, out, len(lines), errOut)
			continue
		}
		for _, want := range c[1] {
			if !strings.Contains(lines[0], want) {
				t.Errorf("predict %q: %q lacks %q", c[0], lines[0], want)
			}
		}
	}
}

func writeBytes(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}
