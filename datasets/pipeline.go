package datasets

import (
	"errors"
	"fmt"
	"iter"
	"log"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/train"
)

// Config sets up a Pipeline. The zero value (with a BatchSize) gives evaluation batches at the native image size in
// file order.
type Config struct {
	// Name of the dataset for GoMLX (train.Dataset.Name); defaults to "data".
	Name string
	// BatchSize is the number of examples per batch (required).
	BatchSize int
	// Size is the output height and width; 0 keeps the native size, which every image must share.
	Size int
	// Channels is 1 or 3, or 0 for the native count (1 for MNIST-like sets, 3 otherwise). Grey is repeated to 3
	// channels; RGB becomes grey with ITU-R 601 luma.
	Channels int
	// Augment turns on training augmentation: inception-style random crop and random horizontal flip.
	Augment bool
	// CropAreaMin is the smallest random crop area as a fraction of the image; 0 means DefaultCropAreaMin (0.05,
	// the paper's code). Use 0.08 for torchvision's RandomResizedCrop.
	CropAreaMin float64
	// PadCrop, for training, shifts each image by up to PadCrop pixels in each direction, filling with black: a
	// random crop of the image padded by PadCrop on every side, as torchvision's RandomCrop(size, padding=PadCrop)
	// in the usual CIFAR (4) and MNIST (2) recipes. It applies after resizing and to any Augment crop.
	PadCrop int
	// Flip mirrors half of the training images horizontally (Augment does it too). Right for natural images and
	// clothes, wrong for digits.
	Flip bool
	// Mean and Std per output channel (on pixel values in [0, 1]) normalise the pixels as (x/255 - mean) / std; nil
	// for the reference code's (x-127.5)/127.5 (mean = std = 0.5). Preprocessing.Eval and Train set them from the
	// preprocessing that travels with a model's weights.
	Mean, Std []float32
	// Resize is the resampling filter, ResizeBilinear (the default, as the paper's code) or ResizeBicubic.
	Resize string
	// CenterCrop, for evaluation, crops the central square of this fraction of the shorter side before resizing
	// (torchvision's Resize(256)+CenterCrop(224) is 0.875); 0 resizes the whole image, as the paper's code does.
	CenterCrop float64
	// Shuffle reshuffles the examples every epoch.
	Shuffle bool
	// Seed makes shuffling and augmentation deterministic: the same seed gives the same batches, whatever Workers.
	Seed uint64
	// Loop makes Iter endless, epoch after epoch (for train.Loop.RunSteps); batches then span epoch boundaries and
	// are always full.
	Loop bool
	// DropRemainder drops the last, partial batch of an epoch (only without Loop).
	DropRemainder bool
	// Workers decode and augment batches in parallel; 0 means runtime.NumCPU().
	Workers int
	// ReadAhead bounds how many batches are prepared ahead of the consumer (each batch is decoded by all Workers
	// together, so memory holds at most ReadAhead+1 batches); 0 means 2.
	ReadAhead int
	// SkipBad skips images that fail to load instead of failing, as torchvision users do with a forgiving loader:
	// with Loop (training) such an image is replaced by the next example; without (evaluation) it is left out, each
	// example used at most once, and batches are refilled from the following examples so that only the last one is
	// short. Skips are counted (SkipReport) and the first few named in a warning each.
	SkipBad bool
	// Warnf receives warnings (bad images skipped); defaults to log.Printf.
	Warnf func(format string, args ...any)
}

// TrainConfig is the configuration for training as in the paper's code: augmentation, reshuffling each epoch, endless
// full batches. Images that fail to decode are skipped with a counted warning (SkipBad), so that one bad file in a
// large folder does not stop a long run.
func TrainConfig(batchSize, size int, seed uint64) Config {
	return Config{Name: "train", BatchSize: batchSize, Size: size, Augment: true, Shuffle: true, Seed: seed,
		Loop: true, SkipBad: true}
}

// EvalConfig is the configuration for evaluation: one pass in order, no augmentation, last batch kept. An image that
// fails to decode is left out and counted (SkipBad; SkipReport says how many and which), as in training, so that
// one bad file does not void an evaluation; the counts of an evaluation are of the images it read.
func EvalConfig(batchSize, size int) Config {
	return Config{Name: "eval", BatchSize: batchSize, Size: size, SkipBad: true}
}

// SkipReport says which examples a pass of a Pipeline left out because they failed to load (Config.SkipBad).
type SkipReport struct {
	// Count is the number of examples skipped.
	Count int
	// First names the first few of them (those of the smallest indices) with the reason: "PATH: why".
	First []string
	// EmptyClasses are the labels of the classes all of whose examples were skipped, after a whole pass without
	// Loop (none otherwise).
	EmptyClasses []int32
}

// String says the report in one line ("" if nothing was skipped).
func (r SkipReport) String() string {
	if r.Count == 0 {
		return ""
	}
	more := ""
	if r.Count > len(r.First) {
		more = "; ..."
	}
	s := fmt.Sprintf("%d images could not be read and were skipped (%s%s)", r.Count, strings.Join(r.First, "; "), more)
	if len(r.EmptyClasses) > 0 {
		s += fmt.Sprintf("; %d classes were left without any image (labels %v)", len(r.EmptyClasses), r.EmptyClasses)
	}
	return s
}

// Batch is one batch as plain Go slices.
type Batch struct {
	// Images has N*Height*Width*Channels values in [-1, 1], NHWC.
	Images                     []float32
	Labels                     []int32
	N, Height, Width, Channels int
	// Index holds the example index (in the Source) of each image.
	Index []int
}

// Pipeline turns a Source into batches; it implements train.Dataset. Each call of Iter is one epoch (or an endless
// stream with Loop); successive calls use successive epoch numbers for shuffling and augmentation.
type Pipeline struct {
	src     Source
	cfg     Config
	h, w, c int
	epoch   atomic.Int64
	norm    *normalizer
	// skipMu guards the skips of the current pass: the report, the skips per label and whether the pass ended.
	skipMu   sync.Mutex
	skips    SkipReport
	perLabel map[int32]int
	skipped  map[int]bool
	firstIdx []int
	complete bool
}

var _ train.Dataset = (*Pipeline)(nil)

// NewPipeline checks cfg against src and returns a Pipeline.
func NewPipeline(src Source, cfg Config) (*Pipeline, error) {
	if cfg.BatchSize <= 0 {
		return nil, fmt.Errorf("pipeline: batch size must be positive, got %d", cfg.BatchSize)
	}
	if src.Len() == 0 {
		return nil, fmt.Errorf("pipeline: the split has no examples")
	}
	if cfg.Channels != 0 && cfg.Channels != 1 && cfg.Channels != 3 {
		return nil, fmt.Errorf("pipeline: channels must be 0, 1 or 3, got %d", cfg.Channels)
	}
	if cfg.Loop && src.Len() < 1 {
		return nil, fmt.Errorf("pipeline: cannot loop over an empty split")
	}
	if cfg.Workers <= 0 {
		cfg.Workers = runtime.NumCPU()
	}
	if cfg.ReadAhead <= 0 {
		cfg.ReadAhead = 2
	}
	if cfg.PadCrop < 0 {
		return nil, fmt.Errorf("pipeline: pad-crop must not be negative, got %d", cfg.PadCrop)
	}
	if cfg.CropAreaMin <= 0 || cfg.CropAreaMin > 1 {
		cfg.CropAreaMin = DefaultCropAreaMin
	}
	if cfg.Name == "" {
		cfg.Name = "data"
	}
	if cfg.Resize == "" {
		cfg.Resize = ResizeBilinear
	}
	if cfg.Warnf == nil {
		cfg.Warnf = log.Printf
	}
	p := &Pipeline{src: src, cfg: cfg}
	p.h, p.w, p.c = cfg.Size, cfg.Size, cfg.Channels
	if a, ok := nativeShape(src); ok {
		if p.h == 0 {
			p.h, p.w = a.Height, a.Width
		}
		if p.c == 0 {
			p.c = a.Channels
		}
	} else if p.h == 0 {
		return nil, fmt.Errorf("pipeline: images of this split have different sizes: set an output size")
	}
	if p.c == 0 {
		p.c = 3
	}
	mean, std := cfg.Mean, cfg.Std
	if mean == nil && std == nil {
		ref := ReferencePreprocessing(0, p.c)
		mean, std = ref.Mean, ref.Std
	}
	if err := checkNormalization(mean, std, cfg.Resize, p.c); err != nil {
		return nil, fmt.Errorf("pipeline %s: %w", cfg.Name, err)
	}
	p.norm = newNormalizer(cfg.Mean, cfg.Std, cfg.Resize)
	return p, nil
}

// nativeShape returns the common image shape of an in-memory source.
func nativeShape(src Source) (*ArraySource, bool) {
	switch s := src.(type) {
	case *ArraySource:
		return s, true
	case *Subset:
		return nativeShape(s.Src)
	}
	return nil, false
}

// Name implements train.Dataset.
func (p *Pipeline) Name() string { return p.cfg.Name }

// BatchSize returns the number of examples of a batch (the last one of an epoch may have fewer).
func (p *Pipeline) BatchSize() int { return p.cfg.BatchSize }

// Shape returns the height, width and channels of the images of every batch.
func (p *Pipeline) Shape() (height, width, channels int) { return p.h, p.w, p.c }

// Len is the number of examples of one epoch.
func (p *Pipeline) Len() int { return p.src.Len() }

// Skipped counts the images of the current (or last) pass that were skipped because they failed to load (with
// SkipBad).
func (p *Pipeline) Skipped() int64 { return int64(p.SkipReport().Count) }

// SkipReport says which images of the current (or last) pass were skipped because they failed to load (with
// SkipBad); EmptyClasses is filled once a pass without Loop has ended.
func (p *Pipeline) SkipReport() SkipReport {
	p.skipMu.Lock()
	defer p.skipMu.Unlock()
	r := p.skips
	r.First = slices.Clone(r.First)
	if p.complete && r.Count > 0 {
		total := map[int32]int{}
		for i := range p.src.Len() {
			total[p.src.Label(i)]++
		}
		for l, n := range p.perLabel {
			if l >= 0 && n == total[l] {
				r.EmptyClasses = append(r.EmptyClasses, l)
			}
		}
		slices.Sort(r.EmptyClasses)
	}
	return r
}

// startPass forgets the skips of the previous pass.
func (p *Pipeline) startPass() {
	p.skipMu.Lock()
	defer p.skipMu.Unlock()
	p.skips, p.perLabel, p.skipped, p.firstIdx, p.complete = SkipReport{}, map[int32]int{}, map[int]bool{}, nil, false
}

// skip counts example idx as skipped for err (once a pass, however often an endless stream meets it), and names
// it in a warning if it is among the first few.
func (p *Pipeline) skip(idx int, err error) {
	p.skipMu.Lock()
	defer p.skipMu.Unlock()
	if p.skipped[idx] {
		return
	}
	p.skipped[idx] = true
	p.skips.Count++
	p.perLabel[p.src.Label(idx)]++
	// The report names the examples of the smallest indices, whatever order the workers met them in.
	at, _ := slices.BinarySearch(p.firstIdx, idx)
	if at < namedExamples {
		p.firstIdx = slices.Insert(p.firstIdx, at, idx)
		p.skips.First = slices.Insert(p.skips.First, at, err.Error())
		if len(p.firstIdx) > namedExamples {
			p.firstIdx, p.skips.First = p.firstIdx[:namedExamples], p.skips.First[:namedExamples]
		}
	}
	if p.skips.Count <= namedExamples {
		p.cfg.Warnf("%s: skipping an image that cannot be read: %v", p.cfg.Name, err)
	} else if p.skips.Count == namedExamples+1 {
		p.cfg.Warnf("%s: more images cannot be read: they are skipped and counted, not named", p.cfg.Name)
	}
}

// Reset makes the next Iter start again from epoch 0.
func (p *Pipeline) Reset() { p.epoch.Store(0) }

// item is one example to produce: its index in the source, and its epoch and position for the random stream.
type item struct {
	index, epoch, pos int
}

// jobs yields the batches of items of one Iter call.
func (p *Pipeline) jobs(firstEpoch int) iter.Seq[[]item] {
	return func(yield func([]item) bool) {
		n, bs := p.src.Len(), p.cfg.BatchSize
		var cur []item
		for e := firstEpoch; ; e++ {
			perm := make([]int, n)
			for i := range perm {
				perm[i] = i
			}
			if p.cfg.Shuffle {
				rng := rand.New(rand.NewPCG(p.cfg.Seed, uint64(e)))
				rng.Shuffle(n, func(a, b int) { perm[a], perm[b] = perm[b], perm[a] })
			}
			for pos, idx := range perm {
				cur = append(cur, item{index: idx, epoch: e, pos: pos})
				if len(cur) == bs {
					if !yield(cur) {
						return
					}
					cur = nil
				}
			}
			if !p.cfg.Loop {
				if len(cur) > 0 && !p.cfg.DropRemainder {
					yield(cur)
				}
				return
			}
			if e > firstEpoch+1<<20 {
				return
			}
		}
	}
}

// fill decodes and transforms the items into dst (len(items)*h*w*c values) and their labels.
func (p *Pipeline) fill(items []item, dst []float32, labels []int32, index []int) error {
	per := p.h * p.w * p.c
	for k, it := range items {
		idx := it.index
		pix, err := p.src.Load(idx)
		for tries := 1; err != nil; tries++ {
			if !p.cfg.SkipBad {
				return fmt.Errorf("example %d (%s): %w", idx, p.src.Where(idx), err)
			}
			if where := p.src.Where(idx); !strings.Contains(err.Error(), where) {
				err = fmt.Errorf("%s: %w", where, err)
			}
			p.skip(idx, err)
			if !p.cfg.Loop {
				break // left out: dropBad takes it out of the batch
			}
			if tries >= 100 || tries >= p.src.Len() {
				return fmt.Errorf("%d images in a row fail to load, the last: %w", tries, err)
			}
			idx = (idx + 1) % p.src.Len()
			pix, err = p.src.Load(idx)
		}
		if err != nil {
			labels[k], index[k] = -1, -1
			continue
		}
		if pix.Channels != 1 && pix.Channels != 3 {
			return fmt.Errorf("example %d (%s): %d channels, want 1 or 3", idx, p.src.Where(idx), pix.Channels)
		}
		var b box
		flip := false
		var rng *rand.Rand
		if p.cfg.Augment || p.cfg.Flip || p.cfg.PadCrop > 0 {
			rng = rand.New(rand.NewPCG(p.cfg.Seed^0x9e3779b97f4a7c15, uint64(it.epoch)<<32|uint64(it.pos)))
		}
		if p.cfg.Augment {
			b = inceptionCrop(rng, pix.Height, pix.Width, p.cfg.CropAreaMin)
			flip = rng.IntN(2) == 1
		} else {
			b = centerCrop(pix.Height, pix.Width, p.cfg.CenterCrop)
			if p.cfg.Flip {
				flip = rng.IntN(2) == 1
			}
		}
		out := dst[k*per : (k+1)*per]
		render(out, pix, b, p.h, p.w, p.c, flip, p.norm)
		if pad := p.cfg.PadCrop; pad > 0 {
			shift(out, p.h, p.w, p.c, rng.IntN(2*pad+1)-pad, rng.IntN(2*pad+1)-pad)
		}
		labels[k] = p.src.Label(idx)
		index[k] = idx
	}
	return nil
}

// Batches returns the batches of the next epoch (endless with Loop) as Go slices, prepared in parallel.
func (p *Pipeline) Batches() iter.Seq2[*Batch, error] {
	batches := produce(p, func(items []item, fillAll fillFunc) (*Batch, error) {
		n := len(items)
		b := &Batch{N: n, Height: p.h, Width: p.w, Channels: p.c, Images: make([]float32, n*p.h*p.w*p.c),
			Labels: make([]int32, n), Index: make([]int, n)}
		return b, fillAll(b.Images, b.Labels, b.Index)
	})
	if p.dropsBad() {
		return p.dropBad(batches)
	}
	return batches
}

// dropsBad tells whether examples that fail to load are left out of the batches (SkipBad without Loop).
func (p *Pipeline) dropsBad() bool { return p.cfg.SkipBad && !p.cfg.Loop }

// dropBad takes the examples left out (Index -1) out of the batches and refills them from the following ones, so
// that every batch but the last is full (the model sees at most two batch shapes, as without skips).
func (p *Pipeline) dropBad(batches iter.Seq2[*Batch, error]) iter.Seq2[*Batch, error] {
	return func(yield func(*Batch, error) bool) {
		per := p.h * p.w * p.c
		var cur *Batch
		for b, err := range batches {
			if err != nil {
				yield(nil, err)
				return
			}
			if cur == nil && !slices.Contains(b.Index, -1) && b.N == p.cfg.BatchSize {
				if !yield(b, nil) {
					return
				}
				continue
			}
			for k := range b.N {
				if b.Index[k] < 0 {
					continue
				}
				if cur == nil {
					cur = &Batch{Height: p.h, Width: p.w, Channels: p.c,
						Images: make([]float32, 0, p.cfg.BatchSize*per)}
				}
				cur.Images = append(cur.Images, b.Images[k*per:(k+1)*per]...)
				cur.Labels = append(cur.Labels, b.Labels[k])
				cur.Index = append(cur.Index, b.Index[k])
				if cur.N++; cur.N == p.cfg.BatchSize {
					if !yield(cur, nil) {
						return
					}
					cur = nil
				}
			}
		}
		p.skipMu.Lock()
		p.complete = true
		p.skipMu.Unlock()
		if cur != nil && !p.cfg.DropRemainder {
			yield(cur, nil)
		}
	}
}

// Iter implements train.Dataset: inputs are one float32 tensor [batch, height, width, channels] with values in
// [-1, 1], labels one int32 tensor [batch].
func (p *Pipeline) Iter() iter.Seq2[train.Batch, error] {
	if p.dropsBad() {
		return func(yield func(train.Batch, error) bool) {
			for b, err := range p.Batches() {
				if err != nil {
					yield(train.Batch{}, err)
					return
				}
				images := tensors.FromFlatDataAndDimensions(b.Images, b.N, p.h, p.w, p.c)
				if !yield(train.Batch{Inputs: []*tensors.Tensor{images},
					Labels: []*tensors.Tensor{tensors.FromFlatDataAndDimensions(b.Labels, b.N)}}, nil) {
					return
				}
			}
		}
	}
	return produce(p, func(items []item, fillAll fillFunc) (train.Batch, error) {
		n := len(items)
		images := tensors.FromShape(shapes.Make(dtypes.Float32, n, p.h, p.w, p.c))
		labels := make([]int32, n)
		index := make([]int, n)
		var fillErr error
		err := tensors.MutableFlatData(images, func(flat []float32) {
			fillErr = fillAll(flat, labels, index)
		})
		if err = errors.Join(err, fillErr); err != nil {
			_ = images.FinalizeAll()
			return train.Batch{}, err
		}
		return train.Batch{Inputs: []*tensors.Tensor{images},
			Labels: []*tensors.Tensor{tensors.FromFlatDataAndDimensions(labels, n)}}, nil
	})
}

// fillFunc fills a whole batch's outputs, using the worker pool.
type fillFunc func(dst []float32, labels []int32, index []int) error

// errStopped is returned to batch builders when the consumer stopped the iteration.
var errStopped = errors.New("iteration stopped")

// produce runs one Iter/Batches call: a dispatcher walks the batches of the epoch(s) and starts a builder per batch,
// at most ReadAhead ahead of the consumer (so at most ReadAhead+1 batches are in memory); builders split their batch
// into chunks that a pool of Workers decodes and transforms in parallel; batches are yielded in order. The first
// error ends the iteration; stopping early stops every goroutine.
func produce[T any](p *Pipeline, build func(items []item, fillAll fillFunc) (T, error)) iter.Seq2[T, error] {
	call := int(p.epoch.Add(1) - 1)
	first := call
	if p.cfg.Loop {
		first = call << 20 // Endless streams of successive calls never share an epoch number.
	}
	type result struct {
		v   T
		err error
	}
	workers := p.cfg.Workers
	chunk := max(1, min(64, (p.cfg.BatchSize+2*workers-1)/(2*workers)))
	per := p.h * p.w * p.c
	return func(yield func(T, error) bool) {
		p.startPass()
		done := make(chan struct{})
		work := make(chan func())
		queue := make(chan chan result, p.cfg.ReadAhead)
		var wg sync.WaitGroup
		for range workers {
			wg.Go(func() {
				for {
					select {
					case task := <-work:
						task()
					case <-done:
						return
					}
				}
			})
		}
		fillAllFor := func(items []item) fillFunc {
			return func(dst []float32, labels []int32, index []int) error {
				var (
					chunks   sync.WaitGroup
					mu       sync.Mutex
					firstErr error
				)
				for s := 0; s < len(items); s += chunk {
					e := min(s+chunk, len(items))
					task := func() {
						defer chunks.Done()
						if err := p.fill(items[s:e], dst[s*per:e*per], labels[s:e], index[s:e]); err != nil {
							mu.Lock()
							if firstErr == nil {
								firstErr = err
							}
							mu.Unlock()
						}
					}
					chunks.Add(1)
					select {
					case work <- task:
					case <-done:
						chunks.Done()
						chunks.Wait()
						return errStopped
					}
				}
				chunks.Wait()
				return firstErr
			}
		}
		wg.Go(func() {
			defer close(queue)
			for items := range p.jobs(first) {
				out := make(chan result, 1)
				select {
				case queue <- out:
				case <-done:
					return
				}
				wg.Go(func() {
					v, err := build(items, fillAllFor(items))
					out <- result{v: v, err: err}
				})
			}
		})
		defer func() {
			close(done)
			wg.Wait()
		}()
		for out := range queue {
			r := <-out
			if r.err != nil {
				var zero T
				yield(zero, r.err)
				return
			}
			if !yield(r.v, nil) {
				return
			}
		}
	}
}
