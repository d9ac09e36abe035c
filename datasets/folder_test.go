package datasets

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// pngBytes encodes a w x h picture of one colour.
func pngBytes(t testing.TB, w, h int, c color.RGBA) []byte {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, c)
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// pngHeaderClaiming is a PNG of a few bytes whose header claims w x h pixels (and whose data stops there).
func pngHeaderClaiming(w, h uint32) []byte {
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	copy(ihdr[8:], []byte{8, 2, 0, 0, 0}) // 8-bit RGB
	chunk := binary.BigEndian.AppendUint32(nil, uint32(len(ihdr)))
	chunk = append(chunk, "IHDR"...)
	chunk = append(chunk, ihdr...)
	chunk = binary.BigEndian.AppendUint32(chunk, crc32.ChecksumIEEE(chunk[4:]))
	return append([]byte("\x89PNG\r\n\x1a\n"), chunk...)
}

// writeImages writes n small PNGs named 0.png... into dir.
func writeImages(t testing.TB, dir string, n int) {
	for i := range n {
		writeFile(t, filepath.Join(dir, fmt.Sprintf("%d.png", i)), pngBytes(t, 4, 3, color.RGBA{uint8(i), 50, 90, 255}))
	}
}

// classCounts returns the number of examples of each class of a split, by class name.
func classCounts(t *testing.T, ds *Dataset, split string) map[string]int {
	t.Helper()
	src, err := ds.Split(split)
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	for i := range src.Len() {
		counts[ds.Classes[src.Label(i)]]++
	}
	return counts
}

func symlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

// TestLoadFolderNestedClasses: a class is a top-level folder and its images are all those below it, in
// sub-folders too (torchvision's ImageFolder); a class named train, with sub-folders, is a class like the others,
// said in a warning, not the train split (which made bus, car and train two classes, a and b, of 10 images).
func TestLoadFolderNestedClasses(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []string{"bus", "car", "train"} {
		writeImages(t, filepath.Join(dir, c, "a"), 5)
		writeImages(t, filepath.Join(dir, c, "b", "deeper"), 5)
	}
	ds, err := LoadFolder(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(classCounts(t, ds, SplitTrain)); got != "map[bus:10 car:10 train:10]" {
		t.Errorf("classes and counts %s, want 3 classes of 10", got)
	}
	if w := strings.Join(ds.Warnings, "\n"); len(ds.Warnings) != 1 ||
		!strings.Contains(w, "train taken as class folders, not splits, since bus, car are there too") {
		t.Errorf("warnings %q", ds.Warnings)
	}
}

// TestLoadFolderSplitNamesAsClasses: the same class names with the images directly in the class folders are 3
// classes (this was refused: "F/train has no class sub-folders"); so are test/ and val/ without a train/ folder.
func TestLoadFolderSplitNamesAsClasses(t *testing.T) {
	for _, names := range [][]string{{"bus", "car", "train"}, {"train", "val"}, {"test", "val"}} {
		dir := t.TempDir()
		for _, c := range names {
			writeImages(t, filepath.Join(dir, c), 2)
		}
		ds, err := LoadFolder(dir)
		if err != nil {
			t.Fatalf("%v: %v", names, err)
		}
		if strings.Join(ds.Classes, ",") != strings.Join(names, ",") || ds.Splits[SplitTrain].Len() != 2*len(names) ||
			len(ds.Splits) != 1 {
			t.Errorf("%v: classes %v, %d images, splits %d", names, ds.Classes, ds.Splits[SplitTrain].Len(), len(ds.Splits))
		}
		if len(ds.Warnings) != 1 || !strings.Contains(ds.Warnings[0], "taken as class folders") {
			t.Errorf("%v: warnings %q", names, ds.Warnings)
		}
	}
	// A test/ whose only folder is not a class of train/ (test/test/a/*.png): said, not "no images in any of its 1
	// class folders" while the images are there, one level down.
	nested := t.TempDir()
	for _, c := range []string{"a", "b"} {
		writeImages(t, filepath.Join(nested, "train", c), 2)
		writeImages(t, filepath.Join(nested, "test", "test", c), 2)
	}
	if _, err := LoadFolder(nested); err == nil || !strings.Contains(err.Error(), "its test are not classes of "+filepath.Join(nested, "train")) {
		t.Errorf("test/test/CLASS: %v", err)
	}
	// A folder of test/{a,b} alone is one class "test" of the train split: asking for its test split says why
	// there is none ("the data set has train" alone read as if the folder had a train/ and no test/).
	dir := t.TempDir()
	for _, c := range []string{"a", "b"} {
		writeImages(t, filepath.Join(dir, "test", c), 2)
	}
	ds, err := LoadFolder(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ds.Split(SplitTest); err == nil || !strings.Contains(err.Error(), `no split "test"`) ||
		!strings.Contains(err.Error(), "test taken as class folders (there is no train/ folder of classes)") {
		t.Errorf("the test split of a folder holding test/ only: %v", err)
	}
}

// TestLoadFolderSplits: a folder of splits (train/ with class folders, val/, test/) is still read as splits, with
// the classes of train/; a class folder of val/ that train/ lacks is skipped and said.
func TestLoadFolderSplits(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []string{"cat", "dog"} {
		writeImages(t, filepath.Join(dir, "train", c), 3)
		writeImages(t, filepath.Join(dir, "val", c, "x"), 2)
		writeImages(t, filepath.Join(dir, "test", c), 1)
	}
	writeImages(t, filepath.Join(dir, "val", "cow"), 1)
	writeFile(t, filepath.Join(dir, "README.txt"), []byte("about"))
	ds, err := LoadFolder(dir)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(ds.Classes, ",") != "cat,dog" || ds.Splits[SplitTrain].Len() != 6 || ds.Splits[SplitVal].Len() != 4 ||
		ds.Splits[SplitTest].Len() != 2 {
		t.Errorf("classes %v, splits %v", ds.Classes, ds.SplitNames())
	}
	w := strings.Join(ds.Warnings, "\n")
	if !strings.Contains(w, "1 class folders that "+filepath.Join(dir, "train")+" does not have skipped: cow") ||
		!strings.Contains(w, "1 files outside the split folders ignored") || len(ds.Warnings) != 2 {
		t.Errorf("warnings %q", ds.Warnings)
	}
}

// TestLoadFolderLinks: a link to a class folder is a class, links to images and to folders inside a class are
// followed (torchvision's followlinks=True), a link loop is walked once and said, a broken link is said.
func TestLoadFolderLinks(t *testing.T) {
	dir, elsewhere := t.TempDir(), t.TempDir()
	writeImages(t, filepath.Join(dir, "ant"), 2)
	writeImages(t, filepath.Join(elsewhere, "bees"), 3)
	writeImages(t, filepath.Join(elsewhere, "more"), 1)
	symlink(t, filepath.Join(elsewhere, "bees"), filepath.Join(dir, "bee"))
	symlink(t, filepath.Join(elsewhere, "more"), filepath.Join(dir, "ant", "more"))
	symlink(t, filepath.Join(elsewhere, "more", "0.png"), filepath.Join(dir, "ant", "linked.png"))
	symlink(t, "..", filepath.Join(dir, "ant", "up"))                        // a loop: ant/up/ant/up/...
	symlink(t, filepath.Join(dir, "ant"), filepath.Join(dir, "ant", "self")) // another
	symlink(t, filepath.Join(dir, "nowhere"), filepath.Join(dir, "ant", "gone.png"))
	if _, err := os.Stat("/dev/zero"); err == nil {
		symlink(t, "/dev/zero", filepath.Join(dir, "ant", "zero.png")) // endless: never read
	}
	ds, err := LoadFolder(dir)
	if err != nil {
		t.Fatal(err)
	}
	// ant: its 2 images, more/0.png, linked.png, and through up/ the images of bee (up/ant is ant again: a loop).
	if got := fmt.Sprint(classCounts(t, ds, SplitTrain)); got != "map[ant:7 bee:3]" {
		t.Errorf("counts %s", got)
	}
	w := strings.Join(ds.Warnings, "\n")
	if !strings.Contains(w, "folders or links that cannot be read skipped: 1 ("+filepath.Join(dir, "ant", "gone.png")+")") ||
		!strings.Contains(w, "links to a folder already walked (a loop) skipped: 2 (") ||
		strings.Contains(w, "files without an image extension") {
		t.Errorf("warnings %q", ds.Warnings)
	}
	if _, err := os.Stat("/dev/zero"); err == nil && !strings.Contains(w, "devices, pipes or sockets ignored: 1 (") {
		t.Errorf("the link to /dev/zero: %q", ds.Warnings)
	}
	imgs, err := LoadImages(dir)
	if err != nil || imgs.Splits[SplitAll].Len() != 7 {
		t.Errorf("images: %v", err)
	}
}

// TestLoadFolderLeftOut: hidden entries, non-images, files outside the class folders and classes without images
// are each one line with a count and the first few names, however many there are.
func TestLoadFolderLeftOut(t *testing.T) {
	dir := t.TempDir()
	writeImages(t, filepath.Join(dir, "a"), 2)
	for i := range 50 {
		writeFile(t, filepath.Join(dir, "a", fmt.Sprintf("notes%02d.txt", i)), []byte("x"))
		writeFile(t, filepath.Join(dir, "a", fmt.Sprintf(".hidden%02d.png", i)), []byte("x"))
		if err := os.MkdirAll(filepath.Join(dir, fmt.Sprintf("empty%02d", i)), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	writeImages(t, filepath.Join(dir, ".git"), 1)
	writeImages(t, dir, 1) // outside any class
	ds, err := LoadFolder(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(ds.Classes) != 51 || ds.Splits[SplitTrain].Len() != 2 {
		t.Errorf("%d classes, %d images", len(ds.Classes), ds.Splits[SplitTrain].Len())
	}
	want := []string{
		"1 files outside any class folder ignored",
		"50 of 51 classes have no images: empty00, empty01, empty02 and 47 more",
		"files without an image extension ignored: 50 (" + filepath.Join(dir, "a", "notes00.txt"),
		"hidden files or folders ignored: 51 (" + filepath.Join(dir, ".git") + ", ",
	}
	if len(ds.Warnings) != len(want) {
		t.Errorf("%d warnings, want %d: %q", len(ds.Warnings), len(want), ds.Warnings)
	}
	for _, w := range want {
		if !strings.Contains(strings.Join(ds.Warnings, "\n"), w) {
			t.Errorf("no warning %q in %q", w, ds.Warnings)
		}
	}
	for _, w := range ds.Warnings {
		if len(w) > 400 {
			t.Errorf("a warning of %d characters: %.100s...", len(w), w)
		}
	}
}

// TestLoadFolderRefusals: a folder without class folders, or whose classes hold no image, is an error that says
// what is there and what is wanted.
func TestLoadFolderRefusals(t *testing.T) {
	dir := t.TempDir()
	writeImages(t, filepath.Join(dir, "flat"), 2)
	writeFile(t, filepath.Join(dir, "text", "a", "notes.txt"), []byte("x"))
	for sub, want := range map[string]string{
		"flat": "has no class folders (it has 2 files but no folder): want one sub-folder of images per class",
		"text": "no images in any of its 1 class folders (extensions .bmp .gif .jpeg .jpg .png .tif .tiff .webp)",
	} {
		if _, err := LoadFolder(filepath.Join(dir, sub)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want %q", sub, err, want)
		}
	}
}

// TestEvalSkipsUnreadable: an image that cannot be read is left out of an evaluation and counted, with its name,
// instead of ending it (it made `vit eval` fail and `vit pretrain` exit 1 after training without results);
// batches are refilled so that only the last one is short, and a class all of whose images are unreadable is said.
func TestEvalSkipsUnreadable(t *testing.T) {
	dir := t.TempDir()
	writeImages(t, filepath.Join(dir, "a"), 5)
	writeImages(t, filepath.Join(dir, "b"), 3)
	writeFile(t, filepath.Join(dir, "a", "1.png"), []byte("truncated"))
	writeFile(t, filepath.Join(dir, "a", "3.png"), pngHeaderClaiming(20000, 20000)) // 400 megapixels: refused
	for i := range 2 {
		writeFile(t, filepath.Join(dir, "c", fmt.Sprintf("bad%d.jpg", i)), nil)
	}
	ds, err := LoadFolder(dir)
	if err != nil {
		t.Fatal(err)
	}
	cfg := EvalConfig(3, 8)
	var warned []string
	cfg.Warnf = func(f string, a ...any) { warned = append(warned, fmt.Sprintf(f, a...)) }
	p, err := ds.Pipeline(SplitTrain, cfg)
	if err != nil {
		t.Fatal(err)
	}
	var sizes []int
	seen := map[int]bool{}
	for range 2 { // a second pass reports its own skips
		sizes, seen = nil, map[int]bool{}
		for b, err := range p.Batches() {
			if err != nil {
				t.Fatal(err)
			}
			sizes = append(sizes, b.N)
			for k, idx := range b.Index {
				if seen[idx] || b.Labels[k] != ds.Splits[SplitTrain].Label(idx) {
					t.Errorf("example %d twice or mislabelled", idx)
				}
				seen[idx] = true
			}
		}
	}
	if fmt.Sprint(sizes) != "[3 3]" || len(seen) != 6 {
		t.Errorf("batch sizes %v, %d examples, want [3 3] and 6", sizes, len(seen))
	}
	r := p.SkipReport()
	if r.Count != 4 || len(r.First) != 3 || fmt.Sprint(r.EmptyClasses) != "[2]" {
		t.Errorf("report %+v", r)
	}
	line := r.String()
	for _, want := range []string{"4 images could not be read and were skipped", "a/1.png", "unknown format",
		"a/3.png: png header claims 20000x20000 = 400000000 pixels, above the limit", "; ...)",
		"1 classes were left without any image (labels [2])"} {
		if !strings.Contains(line, want) {
			t.Errorf("report %q lacks %q", line, want)
		}
	}
	if len(warned) != 8 || !strings.Contains(warned[3], "more images cannot be read: they are skipped and counted") {
		t.Errorf("warnings (4 a pass) %q", warned)
	}
	// Iter (what evaluation reads) skips the same way.
	n := 0
	for b, err := range p.Iter() {
		if err != nil {
			t.Fatal(err)
		}
		n += b.Inputs[0].Shape().Dimensions[0]
	}
	if n != 6 || p.Skipped() != 4 {
		t.Errorf("Iter gave %d images, skipped %d", n, p.Skipped())
	}
}

// TestFolderEdgeCases: one class only, a class of one image, images of 1x1 pixels, one of 20,000x20,000 pixels
// and 10,000 classes each load with at most one line per thing to say, and their images feed a pipeline.
func TestFolderEdgeCases(t *testing.T) {
	t.Run("one class", func(t *testing.T) {
		dir := t.TempDir()
		writeImages(t, filepath.Join(dir, "only"), 3)
		ds, err := LoadFolder(dir)
		if err != nil || len(ds.Classes) != 1 || ds.Splits[SplitTrain].Len() != 3 || len(ds.Warnings) != 1 ||
			!strings.Contains(ds.Warnings[0], "one class only (only): a classifier of one class always predicts it") {
			t.Fatalf("%v %v", ds, err)
		}
	})
	t.Run("a class of one image, 1x1 pixels", func(t *testing.T) {
		dir := t.TempDir()
		writeFile(t, filepath.Join(dir, "one", "x.png"), pngBytes(t, 1, 1, color.RGBA{255, 0, 0, 255}))
		writeImages(t, filepath.Join(dir, "two"), 2)
		ds, err := LoadFolder(dir)
		if err != nil || len(ds.Warnings) != 0 {
			t.Fatalf("%v %q", err, ds.Warnings)
		}
		train, val := Holdout(ds.Splits[SplitTrain], 0.5)
		if train.Len()+val.Len() != 3 {
			t.Errorf("holdout %d + %d", train.Len(), val.Len())
		}
		p, err := ds.Pipeline(SplitTrain, TrainConfig(4, 16, 1))
		if err != nil {
			t.Fatal(err)
		}
		for b, err := range p.Batches() {
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range b.Images {
				if math.IsNaN(float64(v)) || v < -1 || v > 1 {
					t.Fatalf("value %g", v)
				}
			}
			break
		}
		e, _ := ds.Pipeline(SplitTrain, EvalConfig(1, 16))
		for b, err := range e.Batches() { // the 1x1 red image, first in path order, scaled up: red everywhere
			if err != nil || b.Images[0] != 1 || b.Images[1] != -1 || b.Images[3*16*16-3] != 1 {
				t.Errorf("1x1 image: %v %v", err, b.Images[:3])
			}
			break
		}
	})
	t.Run("20000x20000", func(t *testing.T) {
		dir := t.TempDir()
		writeFile(t, filepath.Join(dir, "big", "huge.png"), pngHeaderClaiming(20000, 20000))
		writeImages(t, filepath.Join(dir, "big"), 1)
		ds, err := LoadFolder(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, cfg := range []Config{EvalConfig(2, 8), TrainConfig(2, 8, 1)} {
			cfg.Warnf = func(string, ...any) {}
			p, _ := ds.Pipeline(SplitTrain, cfg)
			for b, err := range p.Batches() {
				if err != nil || p.Skipped() != 1 || !strings.Contains(p.SkipReport().String(), "above the limit") {
					t.Errorf("loop %v: %v, %+v", cfg.Loop, err, p.SkipReport())
				}
				if !cfg.Loop && b.N != 1 {
					t.Errorf("evaluation batch of %d", b.N)
				}
				break
			}
		}
	})
	t.Run("10000 classes", func(t *testing.T) {
		dir := t.TempDir()
		img := filepath.Join(t.TempDir(), "x.png")
		writeFile(t, img, pngBytes(t, 2, 2, color.RGBA{1, 2, 3, 255}))
		for i := range 10000 { // one file, linked 10,000 times (writing 10,000 takes half a minute on a busy disk)
			class := filepath.Join(dir, fmt.Sprintf("c%05d", i))
			if err := os.Mkdir(class, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Link(img, filepath.Join(class, "x.png")); err != nil {
				t.Fatal(err)
			}
		}
		for i := range 200 {
			if err := os.Mkdir(filepath.Join(dir, fmt.Sprintf("e%05d", i)), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		ds, err := LoadFolder(dir)
		if err != nil {
			t.Fatal(err)
		}
		if len(ds.Classes) != 10200 || ds.Splits[SplitTrain].Len() != 10000 || len(ds.Warnings) != 1 ||
			!strings.Contains(ds.Warnings[0], "200 of 10200 classes have no images: e00000, e00001, e00002 and 197 more") {
			t.Errorf("%d classes, %d images, warnings %q", len(ds.Classes), ds.Splits[SplitTrain].Len(), ds.Warnings)
		}
	})
}

// buildTree makes a folder tree under root from fuzz bytes, two at a time (what to make, and a number choosing
// where and which name): folders, small images, corrupt images, other files, hidden files and links (to a folder,
// the root, the parent, an image, nowhere). Names repeat on purpose (train, val, an image extension on a folder).
func buildTree(t *testing.T, root string, data []byte) {
	names := []string{"a", "b", "train", "val", "test", ".h", "x.png", "c"}
	folders := []string{root}
	var images []string
	good := pngBytes(t, 2, 2, color.RGBA{9, 8, 7, 255})
	for i := 0; i+1 < len(data) && i < 96; i += 2 {
		op, arg := data[i]%7, int(data[i+1])
		parent := folders[arg%len(folders)]
		name := filepath.Join(parent, names[(arg/len(folders))%len(names)])
		if _, err := os.Lstat(name); err == nil {
			continue
		}
		var err error
		switch op {
		case 0:
			if err = os.Mkdir(name, 0o755); err == nil {
				folders = append(folders, name)
			}
		case 1:
			err = os.WriteFile(name+".png", good, 0o644)
			images = append(images, name+".png")
		case 2:
			err = os.WriteFile(name+".jpg", data[i:min(len(data), i+8)], 0o644)
		case 3:
			err = os.WriteFile(name+".txt", nil, 0o644)
		case 4:
			err = os.WriteFile(filepath.Join(parent, ".x.png"), good, 0o644)
		case 5:
			err = os.Symlink(folders[(arg/3)%len(folders)], name)
			folders = append(folders, name)
		case 6:
			target := []string{root, "..", ".", filepath.Join(root, "nowhere")}[arg%4]
			if len(images) > 0 && arg%5 == 0 {
				target = images[arg%len(images)]
			}
			err = os.Symlink(target, name)
		}
		if err != nil && !os.IsExist(err) {
			t.Fatal(err)
		}
	}
}

// FuzzFolder builds folder trees from fuzz bytes (links and loops included) and checks that LoadFolder and
// LoadImages end, list each image file once, label it in range, say what they leave out in a bounded number of short
// lines, and that an evaluation pass over the result skips what cannot be read instead of failing.
func FuzzFolder(f *testing.F) {
	f.Add([]byte{0, 0, 1, 1, 0, 2, 1, 3, 2, 3, 5, 4, 6, 4})
	f.Add([]byte{0, 2, 0, 3, 1, 0, 5, 0, 6, 1, 6, 5})
	f.Add([]byte{0, 0, 0, 1, 0, 9, 1, 9, 1, 2, 3, 2, 4, 2, 5, 7, 5, 1, 6, 3})
	f.Fuzz(func(t *testing.T, data []byte) {
		root := t.TempDir()
		buildTree(t, root, data)
		for _, load := range []func(string) (*Dataset, error){LoadFolder, LoadImages} {
			ds, err := load(root)
			if err != nil {
				if strings.Contains(err.Error(), "\n") || len(err.Error()) > 600 {
					t.Fatalf("error of %d characters: %q", len(err.Error()), err)
				}
				continue
			}
			if len(ds.Warnings) > 24 {
				t.Fatalf("%d warnings: %q", len(ds.Warnings), ds.Warnings)
			}
			for _, w := range ds.Warnings {
				if strings.Contains(w, "\n") || len(w) > 1500 {
					t.Fatalf("warning %q", w)
				}
			}
			for i := 1; i < len(ds.Classes); i++ {
				if ds.Classes[i-1] >= ds.Classes[i] || isHidden(ds.Classes[i]) {
					t.Fatalf("classes %q", ds.Classes)
				}
			}
			for name, src := range ds.Splits {
				fs := src.(*FileSource)
				seen := map[string]bool{}
				for i, p := range fs.Paths {
					l := fs.Labels[i]
					if seen[p] || !IsImageFile(p) || !strings.HasPrefix(p, root) || l < -1 || int(l) >= len(ds.Classes) ||
						(l == -1) != (name == SplitAll) {
						t.Fatalf("%s: path %q label %d", name, p, l)
					}
					seen[p] = true
				}
				cfg := EvalConfig(3, 4)
				cfg.Workers, cfg.Warnf = 1, func(string, ...any) {}
				p, err := NewPipeline(src, cfg)
				if err != nil {
					t.Fatal(err)
				}
				n := 0
				for b, err := range p.Batches() {
					if err != nil {
						t.Fatalf("%s: %v", name, err)
					}
					n += b.N
				}
				if n+p.SkipReport().Count != src.Len() {
					t.Fatalf("%s: %d read + %d skipped != %d", name, n, p.SkipReport().Count, src.Len())
				}
			}
		}
	})
}
