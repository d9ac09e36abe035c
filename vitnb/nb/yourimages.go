package nb

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/gomlx/compute"

	"github.com/vitnb/vitnb/datasets"
	"github.com/vitnb/vitnb/vitnb"
	"github.com/vitnb/vitnb/vitnb/classifier"
	"github.com/vitnb/vitnb/vitnb/explain"
	"github.com/vitnb/vitnb/vitnb/files"
	"github.com/vitnb/vitnb/vitnb/training"
	"github.com/vitnb/vitnb/vitnb/viz"
	"github.com/vitnb/vitnb/vitnb/weights"
)

// ExampleFolder writes n images of the training split of a registered data set of small grey images ("mnist",
// "fashion-mnist") as PNG files in one folder per class, the layout of a user's own images, and returns the
// folder: files.CacheRoot()/examples/NAME-N (written once, then reused). Its last class gets a fifth of the
// images of the others, and the folder holds the mistakes that real folders have, so that SurveyFolder has
// something to say: a corrupt image, a hidden file and a text file.
func ExampleFolder(name string, n int) (string, error) {
	dir := filepath.Join(files.CacheRoot(), "examples", fmt.Sprintf("%s-%d", name, n))
	if _, err := os.Stat(dir); err == nil {
		return dir, nil
	}
	ds, err := datasets.Load(name, datasets.Options{Holdout: -1})
	if err != nil {
		return "", err
	}
	src, err := ds.Split(datasets.SplitTrain)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return "", fmt.Errorf("nb: example folder: %w", err)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), ".writing-"+filepath.Base(dir)+"-")
	if err != nil {
		return "", fmt.Errorf("nb: example folder: %w", err)
	}
	defer os.RemoveAll(tmp) // left only when the rename below failed
	k := len(ds.Classes)
	per := make([]int, k)
	quota := func(c int) int {
		if c == k-1 {
			return max(n/k/5, 1)
		}
		return n / k
	}
	for i, written := 0, 0; i < src.Len() && written < n; i++ {
		c := int(src.Label(i))
		if per[c] >= quota(c) {
			continue
		}
		px, err := src.Load(i)
		if err != nil {
			return "", err
		}
		class := filepath.Join(tmp, folderName(ds.Classes[c]))
		if err := os.MkdirAll(class, 0o755); err != nil {
			return "", fmt.Errorf("nb: example folder: %w", err)
		}
		if err := writeGreyPNG(filepath.Join(class, fmt.Sprintf("%05d.png", i)), px); err != nil {
			return "", err
		}
		per[c]++
		written++
	}
	first := filepath.Join(tmp, folderName(ds.Classes[0]))
	for name, data := range map[string]string{
		"broken.png": "\x89PNG\r\n\x1a\n only the signature: the rest of the file was lost in a copy",
		".DS_Store":  "Finder's settings",
		"notes.txt":  "where these images come from",
	} {
		if err := os.WriteFile(filepath.Join(first, name), []byte(data), 0o644); err != nil {
			return "", fmt.Errorf("nb: example folder: %w", err)
		}
	}
	if err := os.Rename(tmp, dir); err != nil && !os.IsExist(err) {
		if _, statErr := os.Stat(dir); statErr != nil { // another process won the race: its folder is the same
			return "", fmt.Errorf("nb: example folder: %w", err)
		}
	}
	return dir, nil
}

// folderName makes a class name a folder name ("T-shirt/top" has a slash).
func folderName(class string) string { return strings.NewReplacer("/", "-", "\\", "-").Replace(class) }

// writeGreyPNG writes the first channel of px as a grey PNG.
func writeGreyPNG(path string, px *datasets.Pixels) error {
	img := image.NewGray(image.Rect(0, 0, px.Width, px.Height))
	for i := range px.Width * px.Height {
		img.Pix[i] = px.Pix[i*px.Channels]
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("nb: %w", err)
	}
	if err := png.Encode(f, img); err != nil {
		f.Close()
		return fmt.Errorf("nb: %s: %w", path, err)
	}
	return f.Close()
}

// ShowFolder shows what SurveyFolder found: a grid of the first perClass images of each class (the first 12
// classes) labelled with the class and its number of images, a table of the counts per split, and a line per
// problem (or that there is none).
func ShowFolder(s *datasets.FolderSurvey, perClass int) error {
	pic, err := FolderPicture(s, perClass, 12)
	if err != nil {
		return err
	}
	Show(pic)
	ds := s.Dataset
	splits := ds.SplitNames()
	var rows [][]string
	for c, name := range ds.Classes {
		if c == 30 {
			rows = append(rows, []string{fmt.Sprintf("... and %d more classes", len(ds.Classes)-c)})
			break
		}
		row := []string{name}
		for _, sp := range splits {
			row = append(row, fmt.Sprint(s.Counts[sp][c]))
		}
		rows = append(rows, row)
	}
	ShowTable(append([]string{"class"}, splits...), rows)
	colour := "colour"
	if s.Grey {
		colour = "grey"
	}
	fmt.Printf("%s: %d classes, %d readable images (%s, %d to %d pixels a side)\n", ds.Dir, len(ds.Classes),
		readable(ds), colour, s.MinSide, s.MaxSide)
	if len(s.Problems) == 0 {
		fmt.Println("nothing wrong found")
	}
	for _, p := range s.Problems {
		fmt.Println("problem:", p)
	}
	return nil
}

// readable counts the images of every split.
func readable(ds *datasets.Dataset) int {
	n := 0
	for _, src := range ds.Splits {
		n += src.Len()
	}
	return n
}

// FolderPicture draws the first perClass images of each of the first maxClasses classes of a survey, a row per
// class, the first labelled "CLASS: N" (its number of training images).
func FolderPicture(s *datasets.FolderSurvey, perClass, maxClasses int) (*image.RGBA, error) {
	const size = 64
	var pics []image.Image
	var labels []string
	counts := s.Counts[datasets.SplitTrain]
	for c, paths := range s.Pictures(perClass, maxClasses) {
		for i := range perClass {
			label := ""
			if i == 0 {
				label = fmt.Sprintf("%s: %d", s.Dataset.Classes[c], counts[c])
			}
			var img image.Image = image.NewRGBA(image.Rect(0, 0, size, size))
			if i < len(paths) {
				t, err := thumbnail(paths[i], size)
				if err != nil {
					return nil, err
				}
				img = t
			}
			pics, labels = append(pics, img), append(labels, label)
		}
	}
	if len(pics) == 0 {
		return nil, fmt.Errorf("nb: %s: no image to show", s.Dataset.Dir)
	}
	scale := max(1, size/max(pics[0].Bounds().Dx(), pics[0].Bounds().Dy(), 1))
	title := fmt.Sprintf("the first %d images of each class", perClass)
	if n := len(s.Dataset.Classes); n > maxClasses {
		title += fmt.Sprintf(" (%d of %d classes)", maxClasses, n)
	}
	return viz.Titled(viz.Grid(pics, labels, perClass, scale), title), nil
}

// FolderRun is notebook 6's fine-tuning of a folder: its survey, the splits, the starting point and the job.
type FolderRun struct {
	Survey *datasets.FolderSurvey
	// Splits says in a line how the folder was split (Dataset.CarveSplits).
	Splits string
	// Start says in a line what the model starts from: a public checkpoint, the notebooks' Fashion-MNIST model or
	// nothing (from scratch).
	Start string
	// Job is the training job, run by classifier.Train in Job.Dir.
	Job training.Job
}

// PlanFolder makes the training job of a surveyed folder for a budget. It holds out 10% of the images for
// validation and 15% for test (unless the folder has its own), and starts from the best starting point at hand:
// a public checkpoint ($VITNB_PRETRAINED, or PublicViT when the Hugging Face cache has it; nothing is downloaded),
// else for grey images the notebooks' Fashion-MNIST model (FashionMNIST(budget), trained first if its run is not
// there), else micro32 from scratch. Fine-tunings follow the paper's recipe (SGD with momentum, learning rate
// 0.1 at this size), training from scratch AdamW. The run folder is named after the folder's files (their paths
// and sizes), the starting point and the schedule, so that a changed folder trains again.
func PlanFolder(b compute.Backend, s *datasets.FolderSurvey, budget string) (*FolderRun, error) {
	if s == nil || s.Dataset == nil {
		return nil, fmt.Errorf("nb: no survey of a folder (nil): use datasets.SurveyFolder")
	}
	splits, err := s.Dataset.CarveSplits(0.1, 0.15)
	if err != nil {
		return nil, err
	}
	steps := map[string]int{Quick: 60, Default: 300, Full: 1500}[budget]
	if steps == 0 {
		return nil, fmt.Errorf("nb: unknown budget %q: want %s, %s or %s", budget, Quick, Default, Full)
	}
	r := &FolderRun{Survey: s, Splits: splits}
	job := training.Job{Command: "finetune", BatchSize: 64, Seed: 1,
		Data:     training.Data{Dataset: "folder:" + s.Dataset.Dir, Holdout: -1, EvalImages: 0},
		LogEvery: max(steps/50, 5), CheckpointEvery: max(steps/4, 50), EvalEvery: max(steps/5, 10),
		Optimizer: training.PaperFineTuning(steps, steps/10)}
	job.Optimizer.LearningRate = 0.1
	tag := ""
	name := strings.TrimSpace(os.Getenv(PretrainedEnv))
	if name == "" {
		if _, err := weights.Resolve(context.Background(), PublicViT, weights.ResolveOptions{Offline: true}); err == nil {
			name = PublicViT
		}
	}
	switch {
	case name != "":
		job.Weights, job.BatchSize = name, 16
		job.Optimizer.LearningRate = 0.01
		r.Start = fmt.Sprintf("fine-tuning the public checkpoint %s (the paper's recipe, batch %d)", name, job.BatchSize)
		tag = "weights-" + shortHash(name)
	case s.Grey:
		pre := FashionMNIST(budget)
		if _, err := TrainOrLoad(b, pre); err != nil {
			return nil, err
		}
		job.From = pre.Dir()
		r.Start = fmt.Sprintf("fine-tuning the notebooks' Fashion-MNIST model (%s, %d steps; the images are grey; "+
			"no public checkpoint at hand: $%s or `vit weights get %s`)", pre.Preset, pre.Steps, PretrainedEnv, PublicViT)
		tag = "from-" + pre.Dataset + "-" + shortHash(filepath.Base(pre.Dir()))
	default:
		cfg, err := vitnb.Preset("micro32")
		if err != nil {
			return nil, err
		}
		cfg.NumClasses = 0
		job.Command, job.Model, job.Optimizer = "pretrain", cfg, training.DefaultPretraining()
		o := &job.Optimizer
		o.LearningRate, o.WarmupSteps, o.TotalSteps = 2e-3, steps/10, steps
		r.Start = fmt.Sprintf("training micro32 from scratch (colour images, and no public checkpoint at hand: $%s or "+
			"`vit weights get %s`)", PretrainedEnv, PublicViT)
		tag = "scratch-micro32"
	}
	sum, err := folderHash(s.Dataset)
	if err != nil {
		return nil, err
	}
	job.Dir = filepath.Join(RunsDir(), fmt.Sprintf("folder-%s-%s-s%d-b%d-lr%g-seed%d", sum, tag, steps, job.BatchSize,
		job.Optimizer.LearningRate, job.Seed))
	r.Job = job
	return r, nil
}

// shortHash is the first 12 hex digits of the SHA-256 of s.
func shortHash(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:6])
}

// folderHash names the contents of a folder data set: its path and every image's path and size, split by split.
func folderHash(ds *datasets.Dataset) (string, error) {
	var b strings.Builder
	abs, err := filepath.Abs(ds.Dir)
	if err != nil {
		return "", fmt.Errorf("nb: %w", err)
	}
	b.WriteString(abs + "\n")
	names := ds.SplitNames()
	sort.Strings(names)
	for _, sp := range names {
		src := ds.Splits[sp]
		for i := range src.Len() {
			st, err := os.Stat(src.Where(i))
			size := int64(-1)
			if err == nil {
				size = st.Size()
			}
			fmt.Fprintf(&b, "%s %s %d %d\n", sp, src.Where(i), src.Label(i), size)
		}
	}
	return shortHash(b.String()), nil
}

// TrainOrLoad runs the job (classifier.Train, resuming or opening a finished run) with a progress bar and the
// training and validation loss drawn live, which stays in the notebook when training ends; a loaded run draws
// its curve from metrics.jsonl.
func (r *FolderRun) TrainOrLoad(b compute.Backend) (*classifier.Classifier, error) {
	live := NewLive()
	bar := Progress("fine-tuning on " + filepath.Base(r.Survey.Dataset.Dir))
	if r.Job.Command == "pretrain" {
		bar = Progress("training on " + filepath.Base(r.Survey.Dataset.Dir))
	}
	var steps, losses []float64
	plot := func() (image.Image, error) {
		return LossPlot(steps, losses, nil).Image()
	}
	start := time.Now()
	c, err := classifier.Train(b, r.Job, classifier.TrainOptions{Resume: true, Data: r.Survey.Dataset, BackendName: backendConfig(b),
		Progress: func(p training.Progress) {
			bar(p)
			steps, losses = append(steps, float64(p.Step)), append(losses, p.Loss)
			_ = live.Update(plot, p.Step >= p.Total)
		}})
	if err != nil {
		return nil, err
	}
	kind := spentLoading
	if c.Run.TrainSeconds > 0 {
		kind = spentTraining
	}
	recordSince(start, kind)
	live.Done(Must(LossPlot(nil, nil, c.Run.Curve).Image()))
	return c, nil
}

// LossPlot draws a training loss: the moving average of the progress bar at each step (steps, losses), or,
// from a run's curve, the logged training loss with the validation loss where it was measured.
func LossPlot(steps, losses []float64, curve []training.StepRecord) viz.Plot {
	p := viz.Plot{Title: "loss while fine-tuning", XLabel: "step", YLabel: "cross-entropy", Width: 560, Height: 320}
	if curve == nil {
		p.Series = []viz.Series{{Name: "training (moving average)", X: steps, Y: losses}}
		return p
	}
	var tx, ty, vx, vy []float64
	for _, rec := range curve {
		if rec.Loss > 0 {
			tx, ty = append(tx, float64(rec.Step)), append(ty, rec.Loss)
		}
		if rec.Eval != nil {
			vx, vy = append(vx, float64(rec.Step)), append(vy, rec.Eval.Loss)
		}
	}
	p.Series = []viz.Series{{Name: "training batches", X: tx, Y: ty}}
	if len(vx) > 0 {
		p.Series = append(p.Series, viz.Series{Name: "validation", X: vx, Y: vy, Markers: true})
	}
	return p
}

// Mistake is a test image the model gets wrong, with how sure it was.
type Mistake struct {
	Path            string
	True, Predicted int
	Probability     float64 // of the predicted class
	TrueProbability float64
	Picture         *image.RGBA // what the model sees
	Relevance       []float64   // gradient-weighted relevance over the patches (explain.MethodRelevance)
	Rows, Cols      int         // of the patch grid
}

// WorstMistakes returns the k images of split (at most its first limit) that c gets wrong with the highest
// probability for the wrong class, each explained (the relevance of the predicted class), with how many it got
// wrong and how many it read.
func WorstMistakes(c *classifier.Classifier, ds *datasets.Dataset, split string, k, limit int) (worst []Mistake, wrong, read int, err error) {
	if c == nil || ds == nil {
		return nil, 0, 0, fmt.Errorf("nb: mistakes: no classifier or no data set (nil)")
	}
	src, err := ds.Split(split)
	if err != nil {
		return nil, 0, 0, err
	}
	n := src.Len()
	if limit > 0 {
		n = min(n, limit)
	}
	e, err := c.Explainer()
	if err != nil {
		return nil, 0, 0, err
	}
	var all []Mistake
	const chunk = 64
	for lo := 0; lo < n; lo += chunk {
		var paths []string
		var labels []int
		for i := lo; i < min(n, lo+chunk); i++ {
			if _, err := datasets.ImageHeader(src.Where(i)); err != nil {
				continue // the survey left unreadable files out; one broken since is skipped too
			}
			paths, labels = append(paths, src.Where(i)), append(labels, int(src.Label(i)))
		}
		if len(paths) == 0 {
			continue
		}
		pix, pics, err := ModelInput(c, paths)
		if err != nil {
			return nil, 0, read, err
		}
		probs, err := e.Probabilities(pix, len(paths))
		if err != nil {
			return nil, 0, read, err
		}
		read += len(paths)
		for i, p := range probs {
			pred := training.Predicted(p)
			if pred != labels[i] {
				all = append(all, Mistake{Path: paths[i], True: labels[i], Predicted: pred, Probability: float64(p[pred]),
					TrueProbability: float64(p[labels[i]]), Picture: pics[i]})
			}
		}
	}
	slices.SortStableFunc(all, func(a, b Mistake) int {
		switch {
		case a.Probability > b.Probability:
			return -1
		case a.Probability < b.Probability:
			return 1
		}
		return 0
	})
	wrong = len(all)
	all = all[:min(k, len(all))]
	if len(all) == 0 {
		return nil, wrong, read, nil
	}
	cfg := c.Config
	var pix []float32
	var classes []int
	for _, m := range all {
		x, _, err := ModelInput(c, []string{m.Path})
		if err != nil {
			return nil, 0, read, err
		}
		pix, classes = append(pix, x...), append(classes, m.Predicted)
	}
	ex, err := e.Explain(pix, len(all), classes)
	if err != nil {
		return nil, 0, read, err
	}
	g := cfg.GridSize()
	for i := range all {
		all[i].Relevance, all[i].Rows, all[i].Cols = ex.Maps[explain.MethodRelevance][i], g, g
	}
	return all, wrong, read, nil
}

// MistakesPicture draws mistakes in pairs: the image as the model sees it, labelled "true → predicted NN%", and
// the relevance of the predicted class over it.
func MistakesPicture(ms []Mistake, classes []string, scale int) (*image.RGBA, error) {
	if len(ms) == 0 {
		return nil, fmt.Errorf("nb: no mistakes to draw")
	}
	name := func(i int) string {
		if i >= 0 && i < len(classes) {
			return classes[i]
		}
		return fmt.Sprint(i)
	}
	var pics []image.Image
	var labels []string
	for _, m := range ms {
		over, err := viz.Overlay(m.Picture, m.Relevance, m.Rows, m.Cols, 0.6)
		if err != nil {
			return nil, err
		}
		pics = append(pics, m.Picture, over)
		labels = append(labels, fmt.Sprintf("%s > %s %.0f%%", name(m.True), name(m.Predicted), 100*m.Probability), "relevance")
	}
	return viz.Titled(viz.Grid(pics, labels, 6, scale), "the most confident mistakes: true > predicted (probability), and "+
		"what the prediction rests on"), nil
}

// Exported is a model written by Export: its files and the lines that load it back.
type Exported struct {
	// Model is the timm safetensors file, Config the timm config.json beside it.
	Model, Config string
	// Go and PyTorch are three lines each that load the model back and use it.
	Go, PyTorch string
}

// Export writes the classifier as timm safetensors (model.safetensors) with its timm config.json (preprocessing
// and class names) in dir, and returns the paths and the lines that load it back in Go and in PyTorch.
func Export(c *classifier.Classifier, dir string) (*Exported, error) {
	if c == nil {
		return nil, fmt.Errorf("nb: export: no classifier (nil)")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("nb: export: %w", err)
	}
	e := &Exported{Model: filepath.Join(dir, "model.safetensors"), Config: filepath.Join(dir, "config.json")}
	if err := c.ExportTimm(e.Model, e.Config); err != nil {
		return nil, err
	}
	e.Go = fmt.Sprintf(`b, _, err := backend.New() // XLA when at hand, else the Go backend
c, err := classifier.Load(b, %q, weights.Options{}) // reads config.json beside it
preds, err := c.PredictFiles([]string{"my-image.png"}, 3) // its preprocessing; preds[0].Top[0].Label is a class name`, e.Model)
	e.PyTorch = fmt.Sprintf(`import json, timm, safetensors.torch; cfg = json.load(open(%q))
model = timm.create_model(cfg["architecture"], pretrained=False, **cfg["model_args"])%s
model.load_state_dict(safetensors.torch.load_file(%q)); model.eval()  # preprocessing: cfg["pretrained_cfg"], classes: cfg["label_names"]`,
		e.Config, pyGELU(c.Config), e.Model)
	return e, nil
}

// pyGELU is what timm.create_model needs beside model_args for a model with tanh GELU.
func pyGELU(cfg vitnb.Config) string {
	if cfg.WithDefaults().GELU == vitnb.GELUTanh {
		return "  # add act_layer=functools.partial(torch.nn.GELU, approximate='tanh')"
	}
	return ""
}
