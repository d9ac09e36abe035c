package nb

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

	"github.com/vitnb/vitnb/datasets"
	"github.com/vitnb/vitnb/vitnb/classifier"
	"github.com/vitnb/vitnb/vitnb/weights"
)

// writeColourFolder writes n colour PNGs of 12x12 pixels per class (each class its own colour, with noise) and a
// corrupt image.
func writeColourFolder(t *testing.T, dir string, classes []string, n int) {
	t.Helper()
	for c, name := range classes {
		if err := os.MkdirAll(filepath.Join(dir, name), 0o755); err != nil {
			t.Fatal(err)
		}
		for i := range n {
			img := image.NewRGBA(image.Rect(0, 0, 12, 12))
			for p := range 144 {
				img.Set(p%12, p/12, color.RGBA{uint8(80 * c), uint8(200 - 80*c), uint8((p * 7 * (i + 1)) % 256), 255})
			}
			var b bytes.Buffer
			if err := png.Encode(&b, img); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, name, fmt.Sprintf("%02d.png", i)), b.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := os.WriteFile(filepath.Join(dir, classes[0], "broken.png"), []byte("\x89PNG\r\n\x1a\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestFolderRun: notebook 6's steps on a colour folder without a public checkpoint: the survey leaves the corrupt
// image out, the plan trains micro32 from scratch in a folder named after the files (the same folder again, another
// when a file is added), the run trains and then loads, the mistakes are explained over the patch grid, and the
// export loads back with the class names and the same predictions.
func TestFolderRun(t *testing.T) {
	t.Setenv("VITNB_RUNS", t.TempDir())
	t.Setenv(PretrainedEnv, "")
	t.Setenv("HF_HUB_CACHE", t.TempDir()) // no public checkpoint at hand
	dir := filepath.Join(t.TempDir(), "photos")
	classes := []string{"cats", "dogs", "owls"}
	writeColourFolder(t, dir, classes, 10)
	b := Backend()
	plan := func() *FolderRun {
		s, err := datasets.SurveyFolder(dir, 5)
		if err != nil {
			t.Fatal(err)
		}
		if s.Grey || s.Unreadable != 1 || !strings.Contains(strings.Join(s.Problems, "\n"), "broken.png") {
			t.Fatalf("survey: grey %v, %d unreadable, problems %q", s.Grey, s.Unreadable, s.Problems)
		}
		r, err := PlanFolder(b, s, Quick)
		if err != nil {
			t.Fatal(err)
		}
		r.Job.BatchSize, r.Job.Optimizer.TotalSteps, r.Job.Optimizer.WarmupSteps, r.Job.EvalEvery = 4, 3, 1, 2
		return r
	}
	r := plan()
	if !strings.Contains(r.Start, "micro32 from scratch") || r.Job.Command != "pretrain" ||
		!strings.Contains(r.Splits, "30 images: 22 for training, 5 test and 3 validation held out") {
		t.Fatalf("start %q, command %q, splits %q", r.Start, r.Job.Command, r.Splits)
	}
	c, err := r.TrainOrLoad(b)
	if err != nil {
		t.Fatal(err)
	}
	if c.Run.TrainSeconds <= 0 || c.Metrics().Examples != 5 || !slices.Equal(c.Classes, classes) {
		t.Fatalf("trained %gs, %d test images, classes %q", c.Run.TrainSeconds, c.Metrics().Examples, c.Classes)
	}
	again := plan()
	if again.Job.Dir != r.Job.Dir {
		t.Fatalf("run folder %s, then %s", r.Job.Dir, again.Job.Dir)
	}
	loaded, err := again.TrainOrLoad(b)
	if err != nil || loaded.Run.TrainSeconds != 0 {
		t.Fatalf("second run: %v, trained %gs instead of loading", err, loaded.Run.TrainSeconds)
	}

	ms, wrong, read, err := WorstMistakes(c, r.Survey.Dataset, datasets.SplitTest, 2, 0)
	if err != nil || read != 5 || wrong > read || len(ms) != min(wrong, 2) {
		t.Fatalf("mistakes: %v, %d wrong of %d read, %d returned", err, wrong, read, len(ms))
	}
	g := c.Config.GridSize()
	for i, m := range ms {
		if m.True == m.Predicted || len(m.Relevance) != g*g || m.Picture == nil ||
			(i > 0 && m.Probability > ms[i-1].Probability) {
			t.Fatalf("mistake %d: %+v", i, m)
		}
	}
	if len(ms) > 0 {
		if _, err := MistakesPicture(ms, c.Classes, 2); err != nil {
			t.Fatal(err)
		}
	}

	ex, err := Export(c, filepath.Join(t.TempDir(), "export"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(ex.Go, ex.Model) || !strings.Contains(ex.PyTorch, ex.Config) || strings.Count(ex.Go, "\n") != 2 ||
		strings.Count(ex.PyTorch, "\n") != 2 {
		t.Fatalf("lines:\n%s\n%s", ex.Go, ex.PyTorch)
	}
	back, err := classifier.Load(b, ex.Model, weights.Options{})
	if err != nil {
		t.Fatal(err)
	}
	test, _ := r.Survey.Dataset.Split(datasets.SplitTest)
	var paths []string
	for i := range test.Len() {
		paths = append(paths, test.Where(i))
	}
	p1, err1 := c.PredictFiles(paths, 3)
	p2, err2 := back.PredictFiles(paths, 3)
	if err1 != nil || err2 != nil || !slices.Equal(back.Classes, classes) {
		t.Fatalf("%v %v, classes %q", err1, err2, back.Classes)
	}
	for i := range p1 {
		if p1[i].Top[0].Class != p2[i].Top[0].Class || p1[i].Top[0].Label != p2[i].Top[0].Label {
			t.Errorf("image %d: %+v, loaded back %+v", i, p1[i].Top[0], p2[i].Top[0])
		}
	}

	writeColourFolder(t, dir, []string{"cats", "dogs", "owls", "pigs"}, 10)
	s, err := datasets.SurveyFolder(dir, 5)
	if err != nil {
		t.Fatal(err)
	}
	if other, err := PlanFolder(b, s, Quick); err != nil || other.Job.Dir == r.Job.Dir {
		t.Fatalf("a changed folder: %v, run folder %s", err, r.Job.Dir)
	}
}

// TestFolderPicture: a row per class, at most maxClasses, the title says how many classes are left out.
func TestFolderPicture(t *testing.T) {
	dir := t.TempDir()
	writeColourFolder(t, dir, []string{"a", "b", "c"}, 3)
	s, err := datasets.SurveyFolder(dir, 1)
	if err != nil {
		t.Fatal(err)
	}
	small, err := FolderPicture(s, 2, 2)
	if err != nil {
		t.Fatal(err)
	}
	all, err := FolderPicture(s, 2, 3)
	if err != nil {
		t.Fatal(err)
	}
	if small.Bounds().Dy() >= all.Bounds().Dy() {
		t.Errorf("2 classes %v, 3 classes %v", small.Bounds(), all.Bounds())
	}
}
