package datasets

import (
	"fmt"
	"math"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/vitnb/vitnb/datasets/datasetstest"

	"math/rand/v2"
)

// testArray returns n w x h RGB images whose pixel values encode (image, x, y), labels i%classes.
func testArray(n, h, w, classes int) *ArraySource {
	a := &ArraySource{Height: h, Width: w, Channels: 3, Pix: make([]uint8, n*h*w*3), Labels: make([]int32, n),
		Origin: "test"}
	for i := range n {
		a.Labels[i] = int32(i % classes)
		for y := range h {
			for x := range w {
				o := ((i*h+y)*w + x) * 3
				a.Pix[o], a.Pix[o+1], a.Pix[o+2] = uint8(i), uint8(x*255/max(1, w-1)), uint8(y*255/max(1, h-1))
			}
		}
	}
	return a
}

func collect(t *testing.T, p *Pipeline, max int) []*Batch {
	var out []*Batch
	for b, err := range p.Batches() {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
		if len(out) == max {
			break
		}
	}
	return out
}

func TestPipelineEval(t *testing.T) {
	src := testArray(10, 8, 8, 3)
	p, err := NewPipeline(src, EvalConfig(4, 0))
	if err != nil {
		t.Fatal(err)
	}
	bs := collect(t, p, -1)
	if len(bs) != 3 || bs[2].N != 2 || bs[0].Height != 8 || bs[0].Channels != 3 {
		t.Fatalf("got %d batches", len(bs))
	}
	// In order, exact scaling (x-127.5)/127.5.
	if bs[1].Index[0] != 4 || bs[1].Labels[0] != 1 {
		t.Errorf("batch 1 starts with %d label %d", bs[1].Index[0], bs[1].Labels[0])
	}
	if got := bs[0].Images[7*8*3+7*3+1]; got != 1 {
		t.Errorf("pixel 255 gives %v, want 1", got)
	}
	if got := bs[0].Images[0]; got != -1 {
		t.Errorf("pixel 0 gives %v, want -1", got)
	}
	// Grey output and resize.
	cfg := EvalConfig(10, 4)
	cfg.Channels = 1
	p, _ = NewPipeline(src, cfg)
	b := collect(t, p, 1)[0]
	if b.Channels != 1 || len(b.Images) != 10*4*4 {
		t.Errorf("grey: %d channels, %d values", b.Channels, len(b.Images))
	}
	// Grey source repeated to 3 channels.
	grey := &ArraySource{Height: 2, Width: 2, Channels: 1, Pix: []uint8{0, 255, 51, 102}, Labels: []int32{0}}
	cfg = EvalConfig(1, 0)
	cfg.Channels = 3
	p, _ = NewPipeline(grey, cfg)
	b = collect(t, p, 1)[0]
	for i, want := range []float32{-1, -1, -1, 1, 1, 1, -0.6, -0.6, -0.6, -0.2, -0.2, -0.2} {
		if math.Abs(float64(b.Images[i]-want)) > 1e-6 {
			t.Errorf("grey to RGB: %v", b.Images)
			break
		}
	}
}

func TestPipelineTrainDeterministic(t *testing.T) {
	src := testArray(50, 16, 16, 5)
	run := func(workers int, seed uint64) []*Batch {
		cfg := TrainConfig(8, 12, seed)
		cfg.Workers = workers
		p, err := NewPipeline(src, cfg)
		if err != nil {
			t.Fatal(err)
		}
		return collect(t, p, 14) // More than 1 epoch: Loop spans epochs.
	}
	a, b, c := run(1, 7), run(3, 7), run(2, 8)
	same := func(x, y []*Batch) bool {
		for i := range x {
			if fmt.Sprint(x[i].Index) != fmt.Sprint(y[i].Index) || fmt.Sprint(x[i].Images) != fmt.Sprint(y[i].Images) {
				return false
			}
		}
		return true
	}
	if !same(a, b) {
		t.Errorf("same seed, different workers: different batches")
	}
	if same(a, c) {
		t.Errorf("different seeds give the same batches")
	}
	// Each epoch is a permutation; values stay in [-1, 1]; both flips happen.
	seen := map[int]int{}
	flips := 0
	for i, bt := range a {
		if bt.N != 8 {
			t.Fatalf("batch %d has %d examples", i, bt.N)
		}
		for k, idx := range bt.Index {
			if i*8+k < 50 {
				seen[idx]++
			}
			img := bt.Images[k*12*12*3 : (k+1)*12*12*3]
			// Green grows with x in the source: a flipped image has it decreasing.
			if img[1] > img[11*3+1] {
				flips++
			}
		}
		for _, v := range bt.Images {
			if v < -1 || v > 1 || math.IsNaN(float64(v)) {
				t.Fatalf("value %v out of [-1, 1]", v)
			}
		}
	}
	if len(seen) != 50 {
		t.Errorf("first epoch saw %d distinct examples, want 50", len(seen))
	}
	if flips < 20 || flips > 92 {
		t.Errorf("%d of 112 images flipped", flips)
	}
}

func TestInceptionCrop(t *testing.T) {
	p, _ := NewPipeline(testArray(1, 8, 8, 1), TrainConfig(1, 8, 0))
	var areas float64
	rngs := 2000
	for i := range rngs {
		b := inceptionCrop(newTestRand(uint64(i)), 300, 400, p.cfg.CropAreaMin)
		if b.h < 1 || b.w < 1 || b.y0+b.h > 300 || b.x0+b.w > 400 {
			t.Fatalf("crop %+v outside 300x400", b)
		}
		ar := float64(b.w) / float64(b.h)
		if b.h != 300 && (ar < 0.74 || ar > 1.35) {
			t.Errorf("aspect ratio %v", ar)
		}
		areas += float64(b.h*b.w) / (300 * 400)
	}
	// Area uniform in [0.05, 1] (minus rejected tall crops): mean near 0.5.
	if m := areas / float64(rngs); m < 0.4 || m > 0.6 {
		t.Errorf("mean crop area %.3f", m)
	}
	if b := centerCrop(300, 400, 0.875); b.h != 263 || b.w != 263 || b.x0 != 68 {
		t.Errorf("center crop %+v", b)
	}
}

func TestHoldout(t *testing.T) {
	src := testArray(1000, 1, 1, 10)
	tr, va := Holdout(src, 0.02)
	if tr.Len() != 980 || va.Len() != 20 {
		t.Fatalf("train %d validation %d", tr.Len(), va.Len())
	}
	counts := map[int32]int{}
	seen := map[int]bool{}
	for _, i := range va.Index {
		counts[src.Label(i)]++
		seen[i] = true
	}
	for _, i := range tr.Index {
		if seen[i] {
			t.Fatalf("example %d in both", i)
		}
	}
	for c, n := range counts {
		if n != 2 {
			t.Errorf("class %d has %d held out, want 2 (stratified)", c, n)
		}
	}
	_, va2 := Holdout(src, 0.02)
	if fmt.Sprint(va.Index) != fmt.Sprint(va2.Index) {
		t.Errorf("holdout not deterministic")
	}
}

func TestPipelineEarlyStopAndTensors(t *testing.T) {
	before := runtime.NumGoroutine()
	src := testArray(100, 8, 8, 10)
	cfg := TrainConfig(16, 8, 1)
	cfg.Workers, cfg.ReadAhead = 2, 3
	p, _ := NewPipeline(src, cfg)
	n := 0
	for batch, err := range p.Iter() {
		if err != nil {
			t.Fatal(err)
		}
		if got := batch.Inputs[0].Shape().String(); got != "(Float32)[16, 8, 8, 3]" {
			t.Fatalf("input shape %s", got)
		}
		if got := batch.Labels[0].Shape().String(); got != "(Int32)[16]" {
			t.Fatalf("label shape %s", got)
		}
		_ = batch.Finalize()
		if n++; n == 20 {
			break
		}
	}
	time.Sleep(50 * time.Millisecond)
	if after := runtime.NumGoroutine(); after > before+1 {
		t.Errorf("goroutines: %d before, %d after stopping early", before, after)
	}
	if _, err := NewPipeline(src, Config{}); err == nil {
		t.Errorf("zero batch size accepted")
	}
	if _, err := NewPipeline(&FileSource{Paths: []string{"a"}, Labels: []int32{0}}, EvalConfig(1, 0)); err == nil {
		t.Errorf("files without size accepted")
	}
}

func newTestRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 1)) }

// TestPadCropFlip checks the small-image augmentation: every training image is the plain image shifted by at most
// PadCrop pixels (with black filling the border) and mirrored or not; shifts and flips vary and are deterministic.
func TestPadCropFlip(t *testing.T) {
	const n, size, pad = 40, 8, 2
	src := testArray(n, size, size, 4)
	plainP, err := NewPipeline(src, EvalConfig(n, 0))
	if err != nil {
		t.Fatal(err)
	}
	plain := collect(t, plainP, 1)[0]
	cfg := Config{BatchSize: n, PadCrop: pad, Flip: true, Seed: 7}
	p, err := NewPipeline(src, cfg)
	if err != nil {
		t.Fatal(err)
	}
	aug := collect(t, p, 1)[0]
	per := size * size * 3
	black := float32((0 - pixelCenter) * pixelScale)
	shifts, flips := map[[2]int]bool{}, 0
	for i := range n {
		got := aug.Images[i*per : (i+1)*per]
		orig := plain.Images[aug.Index[i]*per : (aug.Index[i]+1)*per]
		found := false
		for _, flip := range []bool{false, true} {
			for dy := -pad; dy <= pad && !found; dy++ {
				for dx := -pad; dx <= pad && !found; dx++ {
					ok := true
					for y := 0; y < size && ok; y++ {
						for x := 0; x < size && ok; x++ {
							sy, sx := y+dy, x+dx
							for c := range 3 {
								want := black
								if sy >= 0 && sy < size && sx >= 0 && sx < size {
									fx := sx
									if flip {
										fx = size - 1 - sx
									}
									want = orig[(sy*size+fx)*3+c]
								}
								if got[(y*size+x)*3+c] != want {
									ok = false
								}
							}
						}
					}
					if ok {
						found = true
						shifts[[2]int{dy, dx}] = true
						if flip {
							flips++
						}
					}
				}
			}
		}
		if !found {
			t.Fatalf("image %d is not a shift by at most %d pixels (mirrored or not) of the plain image", i, pad)
		}
	}
	if len(shifts) < 8 {
		t.Errorf("only %d distinct shifts in %d images", len(shifts), n)
	}
	if flips < 8 || flips > 32 {
		t.Errorf("%d of %d images mirrored", flips, n)
	}
	again, _ := NewPipeline(src, cfg)
	if b := collect(t, again, 1)[0]; fmt.Sprint(b.Images) != fmt.Sprint(aug.Images) {
		t.Errorf("the same seed gave different augmentations")
	}
	if _, err := NewPipeline(src, Config{BatchSize: 1, PadCrop: -1}); err == nil || !strings.Contains(err.Error(), "pad-crop") {
		t.Errorf("negative pad-crop: %v", err)
	}
}

// TestHoldoutBounds: a NaN fraction holds nothing out (Holdout panicked, slicing at int(NaN)), and Load refuses
// a holdout that is not a number below 1 (NaN kept the whole training split without a word; 2 left it empty).
func TestHoldoutBounds(t *testing.T) {
	src := testArray(100, 1, 1, 10)
	tr, va := Holdout(src, math.NaN())
	if tr.Len() != 100 || va.Len() != 0 {
		t.Errorf("Holdout(NaN): train %d validation %d, want 100 and 0", tr.Len(), va.Len())
	}
	dir := datasetstest.WriteFolder(t, 4, true)
	for _, h := range []float64{math.NaN(), math.Inf(1), 1, 2} {
		if _, err := Load("folder:"+dir, Options{Holdout: h}); err == nil || !strings.Contains(err.Error(), "holdout") {
			t.Errorf("Load with holdout %g: got %v, want an error about the holdout", h, err)
		}
	}
	if _, err := Load("folder:"+dir, Options{Holdout: 0.25}); err != nil {
		t.Errorf("Load with holdout 0.25: %v", err)
	}
}
