package main

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vitnb/vitnb/vitnb/viz"
)

// vitData runs `vit data ARGS` in-process.
func vitData(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := runMain(append([]string{"data"}, args...), &stdout, &stderr)
	if strings.Contains(stderr.String(), "goroutine ") {
		t.Errorf("vit data %v printed a stack trace: %s", args, stderr.String())
	}
	return code, stdout.String(), stderr.String()
}

// dataFolder writes an ImageNet-style folder with classes cat (3 images), dog (2) and an empty one.
func dataFolder(t *testing.T) string {
	root := t.TempDir()
	for class, n := range map[string]int{"cat": 3, "dog": 2, "empty": 0} {
		dir := filepath.Join(root, class)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for i := range n {
			img := image.NewRGBA(image.Rect(0, 0, 40, 30))
			for y := range 30 {
				for x := range 40 {
					img.Set(x, y, color.RGBA{uint8(x * 6), uint8(i * 100), uint8(len(class) * 30), 255})
				}
			}
			var b bytes.Buffer
			if err := jpeg.Encode(&b, img, nil); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%d.jpg", i)), b.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	return root
}

func TestDataList(t *testing.T) {
	code, out, errOut := vitData(t, "list", "-dir", t.TempDir())
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"mnist", "fashion-mnist", "cifar10", "cifar100-coarse", "pets", "flowers102",
		"imagenet", "folder:PATH", "images:PATH", "not here (vit data get cifar10)"} {
		if !strings.Contains(out, want) {
			t.Errorf("list lacks %q:\n%s", want, out)
		}
	}
}

func TestDataShowAndSampleFolder(t *testing.T) {
	root := dataFolder(t)
	code, out, errOut := vitData(t, "show", "folder:"+root)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"classes:   3", "examples", "0 cat", "1 dog", "2 empty", "warnings:  1",
		"1 of 3 classes have no images: empty"} {
		if !strings.Contains(out, want) {
			t.Errorf("show lacks %q:\n%s", want, out)
		}
	}
	png1 := filepath.Join(t.TempDir(), "grid.png")
	code, out, errOut = vitData(t, "sample", "folder:"+root, "-n", "4", "-size", "32", "-o", png1, "-augment")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.Contains(out, "4 pictures") {
		t.Errorf("sample said %q", out)
	}
	f, err := os.Open(png1)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	// 2x2 grid of 32 px pictures with 4 px padding and captions of a line of text and 2 px.
	if b := img.Bounds(); b.Dx() != 2*36+4 || b.Dy() != 2*(32+viz.FontHeight+2+4)+4 /* viz.Grid: 4-pixel margins */ {
		t.Errorf("grid is %v", b)
	}
}

func TestDataOfflineFashionMNIST(t *testing.T) {
	if _, err := os.Stat("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"); err != nil {
		t.Skip("Debian package dataset-fashion-mnist not installed")
	}
	t.Setenv("VITNB_CACHE", t.TempDir()) // The copy's checksum stamps.
	code, out, errOut := vitData(t, "get", "fashion-mnist", "-dir", t.TempDir())
	if code != 0 || !strings.Contains(out, "offline copy") {
		t.Fatalf("get: exit %d: %s %s", code, out, errOut)
	}
	code, out, errOut = vitData(t, "show", "fashion-mnist")
	if code != 0 || !strings.Contains(out, "ok (md5 of the decompressed content)") ||
		!strings.Contains(out, "9 Ankle boot") || !strings.Contains(out, "60000") {
		t.Fatalf("show: exit %d: %s %s", code, out, errOut)
	}
}

func TestDataErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{nil, 2, "wants a subcommand"},
		{[]string{"frob"}, 2, "unknown data subcommand"},
		{[]string{"show"}, 2, "missing one data set NAME"},
		{[]string{"show", "a", "b"}, 2, "want one data set NAME"},
		{[]string{"show", "nope"}, 2, "unknown data set"},
		{[]string{"list", "extra"}, 2, "takes no arguments"},
		{[]string{"show", "mnist", "-holdout", "1.5"}, 2, "-holdout must be in [0, 1)"},
		{[]string{"show", "mnist", "-holdout", "NaN"}, 2, "-holdout must be in [0, 1)"},
		{[]string{"get", "folder:/x"}, 2, "nothing to download"},
		{[]string{"sample", "mnist", "-n", "0"}, 2, `invalid value "0" for flag -n: want a whole number in 1..1024`},
		{[]string{"sample", "mnist", "-bogus"}, 2, "flag provided but not defined"},
		{[]string{"show", "cifar10", "-dir", dir}, 1, "vit data get cifar10"},
		{[]string{"show", "folder:" + filepath.Join(dir, "missing")}, 1, "no such file"},
	} {
		code, _, errOut := vitData(t, tc.args...)
		if code != tc.code || !strings.Contains(errOut, tc.want) {
			t.Errorf("vit data %v: exit %d, stderr %q; want exit %d and %q", tc.args, code, errOut, tc.code, tc.want)
		}
	}
}

// TestDataShowMismatch: a cached archive that is not the published one is a warning, and the exit status is not 0.
func TestDataShowMismatch(t *testing.T) {
	dir := t.TempDir()
	pets := filepath.Join(dir, "pets")
	for _, d := range []string{"images", "annotations"} {
		if err := os.MkdirAll(filepath.Join(pets, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	var lines []string
	for i := 1; i <= 3; i++ {
		var b bytes.Buffer
		if err := jpeg.Encode(&b, image.NewRGBA(image.Rect(0, 0, 8, 8)), nil); err != nil {
			t.Fatal(err)
		}
		name := fmt.Sprintf("Abyssinian_%d", i)
		if err := os.WriteFile(filepath.Join(pets, "images", name+".jpg"), b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, name+" 1 1 1\n")
	}
	for file, content := range map[string]string{"annotations/trainval.txt": lines[0] + lines[1],
		"annotations/test.txt": lines[2], "images.tar.gz": "not the published archive"} {
		if err := os.WriteFile(filepath.Join(pets, file), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	code, out, errOut := vitData(t, "show", "pets", "-dir", dir, "-holdout", "-1")
	if code == 0 || !strings.Contains(out, "images.tar.gz: MISMATCH") || !strings.Contains(out, "warnings:  1") ||
		!strings.Contains(errOut, "not the published") {
		t.Errorf("exit %d\n%s\n%s", code, out, errOut)
	}
}
