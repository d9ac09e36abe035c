package datasets

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// greyPNG encodes a w x h grey picture.
func greyPNG(t testing.TB, w, h int) []byte {
	var b bytes.Buffer
	if err := png.Encode(&b, image.NewGray(image.Rect(0, 0, w, h))); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestSurveyHostileFolders: each folder that fights back (issue 23) gives the survey one clear line for what is
// wrong with it, or one error line when nothing can be trained on, never a panic; unreadable files are left out
// of the data set with their count and first names; the sizes and colour are read from the headers only.
func TestSurveyHostileFolders(t *testing.T) {
	// images writes n grey PNGs of 16x16 pixels named 0.png... into dir.
	images := func(t *testing.T, dir string, n int) {
		for i := range n {
			writeFile(t, filepath.Join(dir, fmt.Sprintf("%d.png", i)), greyPNG(t, 16, 16))
		}
	}
	balanced := func(t *testing.T, dir string) {
		images(t, filepath.Join(dir, "a"), 3)
		images(t, filepath.Join(dir, "b"), 3)
	}
	for _, c := range []struct {
		name  string
		build func(t *testing.T, dir string)
		// want: the problem lines, each a substring of one line (DIR: the folder), in order; err: the error's
		// substring instead.
		want   []string
		err    string
		images int
	}{
		{name: "clean", build: balanced, images: 6},
		{name: "nested folders", build: func(t *testing.T, dir string) {
			balanced(t, dir)
			images(t, filepath.Join(dir, "a", "deeper", "still"), 2)
		}, images: 8},
		{name: "hidden files", build: func(t *testing.T, dir string) {
			balanced(t, dir)
			writeFile(t, filepath.Join(dir, "a", ".DS_Store"), []byte("x"))
			writeFile(t, filepath.Join(dir, "b", ".hidden.png"), pngBytes(t, 2, 2, color.RGBA{}))
		}, want: []string{"hidden files or folders ignored: 2 (DIR/a/.DS_Store, DIR/b/.hidden.png)"}, images: 6},
		{name: "non-images", build: func(t *testing.T, dir string) {
			balanced(t, dir)
			writeFile(t, filepath.Join(dir, "a", "notes.txt"), []byte("x"))
		}, want: []string{"DIR: files without an image extension ignored: 1 (DIR/a/notes.txt)"}, images: 6},
		{name: "corrupt files", build: func(t *testing.T, dir string) {
			balanced(t, dir)
			for i := range 5 {
				writeFile(t, filepath.Join(dir, "b", fmt.Sprintf("bad%d.jpg", i)), []byte("not a jpeg"))
			}
			writeFile(t, filepath.Join(dir, "a", "empty.png"), nil)
		}, want: []string{"DIR: image files that cannot be read left out: 6 (DIR/a/empty.png: empty file, not an image; " +
			"DIR/b/bad0.jpg: not a decodable image: unknown format (first bytes 6e 6f 74 20 61 20 6a 70); DIR/b/bad1.jpg: not a " +
			"decodable image: unknown format (first bytes 6e 6f 74 20 61 20 6a 70), ...)"}, images: 6},
		{name: "one class only", build: func(t *testing.T, dir string) { images(t, filepath.Join(dir, "only"), 3) },
			want: []string{"one class only (only): a classifier of one class always predicts it"}, images: 3},
		{name: "a class with one image", build: func(t *testing.T, dir string) {
			balanced(t, dir)
			images(t, filepath.Join(dir, "c"), 1)
		}, want: []string{"1 of 3 classes have fewer than 2 images: c (1)"}, images: 7},
		{name: "imbalance", build: func(t *testing.T, dir string) {
			images(t, filepath.Join(dir, "big"), 13)
			images(t, filepath.Join(dir, "small"), 4)
		}, want: []string{"imbalanced: big has 13 images, small only 4 (3.2x)"}, images: 17},
		{name: "a class of unreadable files only", build: func(t *testing.T, dir string) {
			balanced(t, dir)
			writeFile(t, filepath.Join(dir, "c", "x.png"), []byte("no"))
		}, want: []string{"image files that cannot be read left out: 1 (DIR/c/x.png", "1 of 3 classes have no readable image: c"}, images: 6},
		{name: "1x1 pixels", build: func(t *testing.T, dir string) {
			balanced(t, dir)
			writeFile(t, filepath.Join(dir, "a", "tiny.png"), pngBytes(t, 1, 1, color.RGBA{255, 0, 0, 255}))
		}, want: []string{"DIR: images smaller than 8 pixels a side: 1 (DIR/a/tiny.png 1x1): resized to the model's input " +
			"they carry almost nothing"}, images: 7},
		{name: "20000x20000 pixels", build: func(t *testing.T, dir string) {
			balanced(t, dir)
			writeFile(t, filepath.Join(dir, "a", "huge.png"), pngHeaderClaiming(20000, 20000))
		}, want: []string{"image files that cannot be read left out: 1 (DIR/a/huge.png: png header claims 20000x20000 = 400000000 pixels, " +
			"above the limit of 178956970 (set VITNB_MAX_PIXELS to raise it, 0 for none))"}, images: 6},
		{name: "10000 classes", build: func(t *testing.T, dir string) {
			img := filepath.Join(t.TempDir(), "x.png")
			writeFile(t, img, greyPNG(t, 8, 8))
			for i := range 10000 { // one file linked 10,000 times, as TestFolderEdgeCases
				class := filepath.Join(dir, fmt.Sprintf("c%05d", i))
				if err := os.Mkdir(class, 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.Link(img, filepath.Join(class, "x.png")); err != nil {
					t.Fatal(err)
				}
			}
			writeFile(t, filepath.Join(dir, "c00000", "y.png"), greyPNG(t, 8, 8))
		}, want: []string{"9999 of 10000 classes have fewer than 2 images: c00001 (1), c00002 (1), c00003 (1) and 9996 more"},
			images: 10001},
		{name: "nothing readable", build: func(t *testing.T, dir string) {
			writeFile(t, filepath.Join(dir, "a", "x.png"), []byte("no"))
			writeFile(t, filepath.Join(dir, "b", "y.png"), pngHeaderClaiming(20000, 20000))
		}, err: "none of its 2 image files can be read"},
		{name: "no class folders", build: func(t *testing.T, dir string) { images(t, dir, 2) },
			err: "has no class folders (it has 2 files but no folder)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			c.build(t, dir)
			s, err := SurveyFolder(dir, 2)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) || strings.Contains(err.Error(), "\n") {
					t.Fatalf("error %v, want one line with %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(s.Problems) != len(c.want) {
				t.Fatalf("problems %q, want %d lines with %q", s.Problems, len(c.want), c.want)
			}
			for i, w := range c.want {
				w = strings.ReplaceAll(w, "DIR", dir)
				if !strings.Contains(s.Problems[i], w) || strings.Contains(s.Problems[i], "\n") {
					t.Errorf("problem %q lacks %q", s.Problems[i], w)
				}
			}
			n := 0
			for _, k := range s.Counts[SplitTrain] {
				n += k
			}
			if n != c.images || s.Dataset.Splits[SplitTrain].Len() != c.images {
				t.Errorf("%d images counted, %d in the data set, want %d", n, s.Dataset.Splits[SplitTrain].Len(), c.images)
			}
		})
	}
}

// TestSurveyHeaders: the colour, the sizes and the count per class come from the headers: grey PNGs of 5x7 and
// 30x2 pixels are grey, 2 to 30 a side; one colour image makes the folder colour.
func TestSurveyHeaders(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "a", "1.png"), greyPNG(t, 5, 7))
	writeFile(t, filepath.Join(dir, "b", "2.png"), greyPNG(t, 30, 2))
	s, err := SurveyFolder(dir, 1)
	if err != nil || !s.Grey || s.MinSide != 2 || s.MaxSide != 30 || !slices.Equal(s.Counts[SplitTrain], []int{1, 1}) {
		t.Fatalf("%+v %v", s, err)
	}
	writeFile(t, filepath.Join(dir, "b", "3.png"), pngBytes(t, 3, 3, color.RGBA{1, 2, 3, 255}))
	if s, err = SurveyFolder(dir, 1); err != nil || s.Grey {
		t.Fatalf("colour image: grey %v, %v", s.Grey, err)
	}
	if got := s.Pictures(5, 1); len(got) != 1 || len(got[0]) != 1 || filepath.Base(got[0][0]) != "1.png" {
		t.Errorf("pictures %q", got)
	}
}

// TestCarveSplits: validation and test images are carved from the training split once, stratified by class, the
// same images each time; a folder's own test/ and val/ are kept; bad fractions are refused.
func TestCarveSplits(t *testing.T) {
	dir := t.TempDir()
	writeImages(t, filepath.Join(dir, "a"), 40)
	writeImages(t, filepath.Join(dir, "b"), 20)
	carve := func() *Dataset {
		ds, err := LoadFolder(dir)
		if err != nil {
			t.Fatal(err)
		}
		line, err := ds.CarveSplits(0.1, 0.15)
		if err != nil || !strings.Contains(line, "60 images: 45 for training, 9 test and 6 validation held out") {
			t.Fatalf("%q %v", line, err)
		}
		return ds
	}
	one, two := carve(), carve()
	for _, split := range []string{SplitTrain, SplitValidation, SplitTest} {
		a, b := one.Splits[split], two.Splits[split]
		for i := range a.Len() {
			if a.Where(i) != b.Where(i) {
				t.Fatalf("%s differs at %d: %s, %s", split, i, a.Where(i), b.Where(i))
			}
		}
	}
	if got := classCounts(t, one, SplitTest); got["a"] != 6 || got["b"] != 3 {
		t.Errorf("test split by class %v", got)
	}
	if _, err := one.CarveSplits(0.5, 0.5); err == nil {
		t.Error("fractions summing to 1 accepted")
	}

	own := t.TempDir()
	writeImages(t, filepath.Join(own, "train", "a"), 4)
	writeImages(t, filepath.Join(own, "val", "a"), 2)
	writeImages(t, filepath.Join(own, "test", "a"), 3)
	ds, err := LoadFolder(own)
	if err != nil {
		t.Fatal(err)
	}
	line, err := ds.CarveSplits(0.1, 0.15)
	if err != nil || !strings.Contains(line, "its own splits kept") || ds.Splits[SplitTrain].Len() != 4 ||
		ds.Splits[SplitValidation].Len() != 2 || ds.Splits[SplitTest].Len() != 3 {
		t.Fatalf("%q %v %v", line, err, ds.SplitNames())
	}
}
