package datasets

import (
	"encoding/binary"
	"fmt"
	"image"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDecodeOddImages checks the files that are not clean RGB JPEGs in Pets (CMYK, greyscale, PNG named .jpg): they
// decode to RGB like PIL's convert("RGB") (reference means computed with Pillow when the files were made).
func TestDecodeOddImages(t *testing.T) {
	want := map[string][3]float64{
		"cmyk.jpg": {127.05, 127.5, 64}, "grey.jpg": {120, 120, 120}, "png_named.jpg": {127.05, 127.5, 64},
		"rgb.jpg": {126.84, 127.43, 63.72},
	}
	for name, w := range want {
		p, err := DecodeFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if p.Channels != 3 || p.Width != 20 || p.Height != 16 {
			t.Fatalf("%s: shape %dx%dx%d", name, p.Height, p.Width, p.Channels)
		}
		var mean [3]float64
		for i, v := range p.Pix {
			mean[i%3] += float64(v) / float64(p.Width*p.Height)
		}
		for c := range 3 {
			if d := mean[c] - w[c]; d > 3 || d < -3 {
				t.Errorf("%s: channel %d mean %.2f, PIL gives %.2f", name, c, mean[c], w[c])
			}
		}
	}
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "text.jpg"), []byte("<html>not an image</html>"))
	writeFile(t, filepath.Join(dir, "empty.jpg"), nil)
	writeFile(t, filepath.Join(dir, "cut.jpg"), readTestdata(t, "rgb.jpg")[:300])
	if err := os.Mkdir(filepath.Join(dir, "folder.jpg"), 0o755); err != nil {
		t.Fatal(err)
	}
	// A folder given as an image said "unknown format (first bytes )".
	for name, msg := range map[string]string{"text.jpg": "unknown format", "empty.jpg": "empty file",
		"cut.jpg": "decoding jpeg", "folder.jpg": "folder.jpg is a folder, not an image"} {
		_, err := DecodeFile(filepath.Join(dir, name))
		if err == nil || !strings.Contains(err.Error(), name) || !strings.Contains(err.Error(), msg) {
			t.Errorf("%s: got %v, want an error naming the file and saying %q", name, err, msg)
		}
	}
}

// writePets writes small images.tar.gz and annotations.tar.gz laid out as published into dir/pets.
func writePets(t *testing.T, dir string) {
	breeds := []string{"Abyssinian", "american_bulldog", "Bengal"}
	images := [][2]string{{"images/", ""}}
	var trainval, test strings.Builder
	for b, breed := range breeds {
		for i := 1; i <= 10; i++ {
			name := fmt.Sprintf("%s_%d", breed, i)
			data := string(jpegBytes(t, 40+i, 30, b))
			switch name {
			case "Abyssinian_5":
				data = string(readTestdata(t, "cmyk.jpg"))
			case "Bengal_2":
				data = string(readTestdata(t, "png_named.jpg"))
			case "american_bulldog_3":
				data = string(readTestdata(t, "grey.jpg"))
			}
			images = append(images, [2]string{"images/" + name + ".jpg", data})
			species := 1 + b%2
			line := fmt.Sprintf("%s %d %d %d\n", name, b+1, species, b+1)
			if i <= 6 {
				trainval.WriteString(line)
			} else {
				test.WriteString(line)
			}
		}
	}
	images = append(images, [2]string{"images/Abyssinian_100.mat", "not an image, not listed"})
	writeFile(t, filepath.Join(dir, "pets", "images.tar.gz"), tarGz(t, images))
	writeFile(t, filepath.Join(dir, "pets", "annotations.tar.gz"), tarGz(t, [][2]string{
		{"annotations/", ""}, {"annotations/trainval.txt", trainval.String()}, {"annotations/test.txt", test.String()},
		{"annotations/._trainval.txt", "AppleDouble junk"}, {"../escape.txt", "must not be extracted"},
	}))
}

func TestLoadPets(t *testing.T) {
	dir := t.TempDir()
	writePets(t, dir)
	publishFixture(t, "pets", dir)
	ds, err := Load("pets", Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(ds.Classes[:3], ","); got != "Abyssinian,American Bulldog,Bengal" {
		t.Errorf("classes %q", got)
	}
	tr, va, te := ds.Splits[SplitTrain].Len(), ds.Splits[SplitValidation].Len(), ds.Splits[SplitTest].Len()
	if tr+va != 18 || va != 2 || te != 12 {
		t.Errorf("train %d validation %d test %d", tr, va, te)
	}
	if exists(filepath.Join(dir, "escape.txt")) || exists(filepath.Join(dir, "pets", "annotations", "._trainval.txt")) {
		t.Errorf("unsafe or junk archive member extracted")
	}
	// Every image, odd ones included, goes through the pipeline.
	for _, split := range []string{SplitTrain, SplitValidation, SplitTest} {
		p, err := ds.Pipeline(split, EvalConfig(4, 24))
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for b, err := range p.Batches() {
			if err != nil {
				t.Fatal(err)
			}
			n += b.N
		}
		if n != ds.Splits[split].Len() {
			t.Errorf("%s: %d images through the pipeline", split, n)
		}
	}
	// Missing split file: a clear error naming it.
	if err := os.Remove(filepath.Join(dir, "pets", "annotations", "test.txt")); err != nil {
		t.Fatal(err)
	}
	if _, err := Load("pets", Options{Dir: dir}); err == nil || !strings.Contains(err.Error(), "test.txt") {
		t.Errorf("missing test.txt: %v", err)
	}
	writeFile(t, filepath.Join(dir, "pets", "annotations", "test.txt"), []byte("Bengal_7 38 1 1\n"))
	if _, err := Load("pets", Options{Dir: dir}); err == nil || !strings.Contains(err.Error(), "test.txt:1") {
		t.Errorf("bad class id: %v", err)
	}
}

func TestLoadFlowers(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "flowers102")
	const n = 30
	labels := make([]int, n)
	members := [][2]string{{"jpg/", ""}}
	for i := range n {
		labels[i] = 1 + i%3
		members = append(members, [2]string{fmt.Sprintf("jpg/image_%05d.jpg", i+1), string(jpegBytes(t, 32, 24, i%3))})
	}
	writeFile(t, filepath.Join(dir, "102flowers.tgz"), tarGz(t, members))
	le := binary.LittleEndian
	writeFile(t, filepath.Join(dir, "imagelabels.mat"), matFile(le, true,
		matVar{name: "labels", class: 6, dims: []int32{1, n}, typ: miUINT8, data: u8(labels...)}))
	ids := func(from, to int) []int {
		var out []int
		for i := from; i <= to; i++ {
			out = append(out, i)
		}
		return out
	}
	writeFile(t, filepath.Join(dir, "setid.mat"), matFile(le, true,
		matVar{name: "trnid", class: 6, dims: []int32{1, 10}, typ: miUINT16, data: u16(le, ids(1, 10)...)},
		matVar{name: "valid", class: 6, dims: []int32{1, 10}, typ: miUINT16, data: u16(le, ids(11, 20)...)},
		matVar{name: "tstid", class: 6, dims: []int32{1, 10}, typ: miUINT16, data: u16(le, ids(21, 30)...)}))
	publishFixture(t, "flowers102", filepath.Dir(dir))
	ds, err := Load("flowers102", Options{Dir: filepath.Dir(dir)})
	if err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprint(ds.Splits[SplitTrain].Len(), ds.Splits[SplitValidation].Len(), ds.Splits[SplitVal].Len(),
		ds.Splits[SplitTest].Len())
	if got != "9 1 10 10" || ds.Classes[0] != "pink primrose" {
		t.Errorf("splits %s, class 0 %q", got, ds.Classes[0])
	}
	test := ds.Splits[SplitTest]
	if test.Label(0) != int32((20)%3) || !strings.HasSuffix(test.Where(0), "image_00021.jpg") {
		t.Errorf("test 0: label %d at %s", test.Label(0), test.Where(0))
	}
	// An id beyond the labels, and a missing variable.
	writeFile(t, filepath.Join(dir, "setid.mat"), matFile(le, false,
		matVar{name: "trnid", class: 6, dims: []int32{1, 1}, typ: miUINT16, data: u16(le, 31)}))
	publishFixture(t, "flowers102", filepath.Dir(dir)) // The loader reads it, not the checksum check.
	if _, err := Load("flowers102", Options{Dir: filepath.Dir(dir)}); err == nil ||
		!strings.Contains(err.Error(), "setid.mat") {
		t.Errorf("bad setid: %v", err)
	}
}

func TestLoadFolder(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []string{"zebra", "ant", "empty"} {
		if err := os.MkdirAll(filepath.Join(dir, "train", c), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 3 {
		writeFile(t, filepath.Join(dir, "train", "zebra", fmt.Sprintf("z%d.JPG", i)), jpegBytes(t, 30, 20, i))
		writeFile(t, filepath.Join(dir, "train", "ant", "sub", fmt.Sprintf("a%d.jpeg", i)), jpegBytes(t, 20, 30, i))
		writeFile(t, filepath.Join(dir, "val", "ant", fmt.Sprintf("v%d.png", i)), readTestdata(t, "png_named.jpg"))
	}
	writeFile(t, filepath.Join(dir, "train", "ant", "notes.txt"), []byte("x"))
	writeFile(t, filepath.Join(dir, "train", "ant", ".hidden.jpg"), []byte("x"))
	writeFile(t, filepath.Join(dir, "train", "ant", "broken.jpg"), []byte("not a jpeg"))
	ds, err := Load("folder:"+dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(ds.Classes, ",") != "ant,empty,zebra" {
		t.Errorf("classes %v", ds.Classes)
	}
	if ds.Splits[SplitTrain].Len() != 7 || ds.Splits[SplitVal].Len() != 3 {
		t.Errorf("train %d val %d", ds.Splits[SplitTrain].Len(), ds.Splits[SplitVal].Len())
	}
	if w := strings.Join(ds.Warnings, "\n"); !strings.Contains(w, "1 of 3 classes have no images: empty") ||
		!strings.Contains(w, "files without an image extension ignored: 1 (") ||
		!strings.Contains(w, "hidden files or folders ignored: 1 (") {
		t.Errorf("warnings: %s", w)
	}
	// The broken file: an error naming it without SkipBad; with it (evaluation's default), left out and counted.
	cfg := EvalConfig(8, 16)
	cfg.SkipBad = false
	p, _ := ds.Pipeline(SplitTrain, cfg)
	for _, err := range p.Batches() {
		if err == nil || !strings.Contains(err.Error(), "broken.jpg") {
			t.Errorf("broken image: %v", err)
		}
	}
	cfg = EvalConfig(8, 16)
	var warned []string
	cfg.Warnf = func(f string, a ...any) { warned = append(warned, fmt.Sprintf(f, a...)) }
	p, _ = ds.Pipeline(SplitTrain, cfg)
	for b, err := range p.Batches() {
		if err != nil || b.N != 6 {
			t.Fatalf("skip bad: %v", err)
		}
	}
	if p.Skipped() != 1 || len(warned) != 1 || !strings.Contains(warned[0], "broken.jpg") {
		t.Errorf("skipped %d, warnings %q", p.Skipped(), warned)
	}
	// Unlabelled images.
	imgs, err := Load("images:"+filepath.Join(dir, "val"), Options{})
	if err != nil || imgs.Splits[SplitAll].Len() != 3 || imgs.Splits[SplitAll].Label(0) != -1 {
		t.Errorf("images: %v", err)
	}
	if _, err := LoadFolder(filepath.Join(dir, "train", "empty")); err == nil ||
		!strings.Contains(err.Error(), "has no class folders (it is empty)") {
		t.Errorf("no classes: %v", err)
	}
}

// TestYCbCrToRGB compares the fast conversion with the standard library's for every subsampling ratio.
func TestYCbCrToRGB(t *testing.T) {
	for _, ratio := range []image.YCbCrSubsampleRatio{image.YCbCrSubsampleRatio444, image.YCbCrSubsampleRatio422,
		image.YCbCrSubsampleRatio420, image.YCbCrSubsampleRatio440, image.YCbCrSubsampleRatio411,
		image.YCbCrSubsampleRatio410} {
		full := image.NewYCbCr(image.Rect(0, 0, 13, 9), ratio)
		for i := range full.Y {
			full.Y[i] = uint8(i * 37)
		}
		for i := range full.Cb {
			full.Cb[i], full.Cr[i] = uint8(i*53), uint8(255-i*29)
		}
		for _, m := range []image.Image{full, full.SubImage(image.Rect(3, 1, 12, 8))} {
			p := ToRGB(m)
			b := m.Bounds()
			for y := b.Min.Y; y < b.Max.Y; y++ {
				for x := b.Min.X; x < b.Max.X; x++ {
					r, g, bb, _ := m.At(x, y).RGBA()
					o := ((y-b.Min.Y)*b.Dx() + x - b.Min.X) * 3
					if p.Pix[o] != uint8(r>>8) || p.Pix[o+1] != uint8(g>>8) || p.Pix[o+2] != uint8(bb>>8) {
						t.Fatalf("ratio %v bounds %v pixel (%d,%d): got %v want %d %d %d", ratio, b, x, y,
							p.Pix[o:o+3], r>>8, g>>8, bb>>8)
					}
				}
			}
		}
	}
}

// WriteList names every registered data set, says where its files are (here: nowhere, the cache folder is empty)
// and lists the folder forms.
func TestWriteList(t *testing.T) {
	var b strings.Builder
	if err := WriteList(&b, t.TempDir()); err != nil {
		t.Fatal(err)
	}
	for _, want := range append(Names(), "not here (vit data get cifar10)", "folder:PATH", "images:PATH") {
		if !strings.Contains(b.String(), want) {
			t.Errorf("the list misses %q:\n%s", want, b.String())
		}
	}
}
