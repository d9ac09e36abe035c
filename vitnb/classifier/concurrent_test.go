package classifier

import (
	"fmt"
	"image"
	"reflect"
	"sync"
	"testing"

	"github.com/vitnb/vitnb/datasets"
	"github.com/vitnb/vitnb/datasets/datasetstest"
	"github.com/vitnb/vitnb/vitnb"
)

// concurrentResult is what one goroutine of TestConcurrentUse gets from a classifier.
type concurrentResult struct {
	Preds   []Prediction
	Logits  [][]float32
	Attn    [][][]float32
	Metrics string
}

// TestConcurrentUse: one Classifier used by many goroutines at once, from its first call (the graphs are compiled
// while the others wait), gives each the results it gives when used alone: predictions of images, Inspect's logits
// and attention, and Evaluate's metrics. `make test-race` runs it under the race detector (docs/RACE.md).
func TestConcurrentUse(t *testing.T) {
	b := newBackend(t)
	cfg := vitnb.Config{Name: "tiny", ImageSize: 8, Channels: 3, PatchSize: 4, Width: 16, Depth: 1, Heads: 2, MLPDim: 32,
		NumClasses: 2}.WithDefaults()
	dir := datasetstest.WriteFolder(t, 4, true)
	ds, err := datasets.Load("folder:"+dir, datasets.Options{Holdout: -1})
	if err != nil {
		t.Fatal(err)
	}
	images := []image.Image{colourImage(8, 8), colourImage(11, 9), colourImage(30, 20)}
	use := func(c *Classifier, i int) (concurrentResult, error) {
		var r concurrentResult
		var err error
		if r.Preds, err = c.PredictImages(images[:1+i%len(images)], 2); err != nil {
			return r, err
		}
		input, err := c.Preprocessing.Input(images[i%len(images)], cfg.Channels)
		if err != nil {
			return r, err
		}
		if r.Logits, r.Attn, err = c.Inspect(input, 1); err != nil {
			return r, err
		}
		data, err := c.Split(ds, datasets.SplitTest, 0, 0, 0)
		if err != nil {
			return r, err
		}
		m, err := c.Evaluate(data)
		if err != nil {
			return r, err
		}
		r.Metrics = fmt.Sprintf("%d %.6f %.6f %v", m.Examples, m.Loss, m.Top1, m.Confusion)
		return r, nil
	}
	const goroutines = 6
	alone, err := Random(b, cfg, 7)
	if err != nil {
		t.Fatal(err)
	}
	want := make([]concurrentResult, goroutines)
	for i := range want {
		if want[i], err = use(alone, i); err != nil {
			t.Fatal(err)
		}
	}
	shared, err := Random(b, cfg, 7)
	if err != nil {
		t.Fatal(err)
	}
	got := make([]concurrentResult, goroutines)
	errs := make([]error, goroutines)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			got[i], errs[i] = use(shared, i)
		}()
	}
	close(start)
	wg.Wait()
	for i := range goroutines {
		if errs[i] != nil {
			t.Errorf("goroutine %d: %v", i, errs[i])
		} else if !reflect.DeepEqual(got[i], want[i]) {
			t.Errorf("goroutine %d: results differ from the classifier used alone:\n got %+v\nwant %+v", i, got[i], want[i])
		}
	}
}
