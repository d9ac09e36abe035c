package explain

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"

	"github.com/vitnb/vitnb/vitnb/files"
)

// MethodRandom names the baseline of the deletion test: patches removed in a random order (RandomMaps).
const MethodRandom Method = "random"

// DeletionOptions tune Explainer.Deletion.
type DeletionOptions struct {
	// Steps is the number of deletion steps after the intact image: step s removes round(s·P/Steps) of the P
	// patches. 0 means min(P, 20), 5% of the image per step for large grids (RISE removes a fixed number of
	// pixels per step).
	Steps int
	// Fill is the per-channel value, in model input space ([-1, 1]), that replaces a removed patch. nil means
	// the per-channel mean of the images given: RISE's deletion sets pixels to zero after ImageNet's mean
	// normalisation, that is, to the data mean, which carries no evidence of its own; vitnb's inputs are scaled
	// to [-1, 1] without subtracting a mean, so zero here would be mid-grey, a bright square on Fashion-MNIST's
	// black background that the model may read as a feature. Pass []float32{0} (or one 0 per channel) to get
	// zero filling instead.
	Fill []float32
	// BatchSize is the number of modified images per model call; 0 means 64 (38 MB of input for ViT-B/16's
	// 224x224x3 images, little for the small models). The last call is padded to the same size so that one
	// compiled executable serves every call.
	BatchSize int
}

// Deletion is the result of a deletion test on a batch of images.
type Deletion struct {
	// Fractions [step] is the share of patches removed at each step, from 0 to 1.
	Fractions []float64
	// Curves [image][step] is the probability of the explained class after each step.
	Curves [][]float64
	// AUC [image] is the area under each curve (trapezoid rule over Fractions): lower means the map ranked
	// the patches that carry the decision first, a more faithful explanation.
	AUC []float64
	// MeanCurve [step] and MeanAUC average over the images.
	MeanCurve []float64
	MeanAUC   float64
}

// MaxRandomValues bounds RandomMaps: 2^26 values in all (512 MB of float64), far more than the patches of the
// images one explains (a ViT-H/14 at 518 px has 1369 patches: 49,000 images).
const MaxRandomValues = 1 << 26

// RandomMaps returns n maps of patches random values (uniform in [0, 1), from seed): ranking patches by them is
// the random-order baseline of the deletion test. A negative n or patches counts as 0; more than MaxRandomValues
// values in all, or more than the machine's available memory holds, is an error before anything is allocated.
func RandomMaps(n, patches int, seed uint64) ([][]float64, error) {
	n, patches = max(n, 0), max(patches, 0)
	if values := float64(n) * float64(patches); values > MaxRandomValues || n > MaxRandomValues {
		return nil, fmt.Errorf("random maps: %d maps of %d patches is %.0f values, more than the %d allowed", n, patches, values, MaxRandomValues)
	}
	if avail, source, ok := files.HostMemory(); ok {
		if err := files.NotEnoughMemory(float64(n)*(24+8*float64(patches)), avail, source,
			fmt.Sprintf("random maps: %d maps of %d patches", n, patches), "explain fewer images"); err != nil {
			return nil, err
		}
	}
	rng := rand.New(rand.NewPCG(seed, 0x5eed)) // second PCG word: any fixed constant
	out := make([][]float64, n)
	for i := range out {
		out[i] = make([]float64, patches)
		for j := range out[i] {
			out[i][j] = rng.Float64()
		}
	}
	return out, nil
}

// DeletionOrder returns the patch indices from the most to the least relevant by m (ties by index).
func DeletionOrder(m []float64) []int {
	order := make([]int, len(m))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return m[order[a]] > m[order[b]] })
	return order
}

// Deletion runs the deletion test of RISE (Petsiuk, Das and Saenko, BMVC 2018) on n images given as one flat
// NHWC slice in [-1, 1]: for each image, patches are removed (set to opts.Fill) in the order of maps[image]
// (most relevant first), and the probability of classes[image] is followed after each step. maps hold one value
// per patch (as Explanation.Maps); classes are the explained classes (Explanation.Classes).
func (e *Explainer) Deletion(pix []float32, n int, maps [][]float64, classes []int, opts DeletionOptions) (*Deletion, error) {
	c := e.cfg
	if err := e.imageCheck(pix, n); err != nil {
		return nil, err
	}
	patches := c.NumPatches()
	if len(maps) != n || len(classes) != n {
		return nil, fmt.Errorf("explain: deletion of %d images needs %d maps and classes, got %d and %d", n, n, len(maps), len(classes))
	}
	for i := range n {
		if len(maps[i]) != patches {
			return nil, fmt.Errorf("explain: map %d has %d values, the model has %d patches", i, len(maps[i]), patches)
		}
		for _, v := range maps[i] {
			if math.IsNaN(v) {
				return nil, fmt.Errorf("explain: map %d has a NaN value", i)
			}
		}
		if classes[i] < 0 || classes[i] >= c.NumClasses {
			return nil, fmt.Errorf("explain: class %d of image %d is not in [0, %d)", classes[i], i, c.NumClasses)
		}
	}
	steps := opts.Steps
	if steps == 0 {
		steps = min(patches, 20)
	}
	if steps < 1 || steps > patches {
		return nil, fmt.Errorf("explain: deletion steps must be in [1, %d] (the number of patches), got %d", patches, steps)
	}
	batch := opts.BatchSize
	if batch == 0 {
		batch = 64
	}
	if batch < 1 {
		return nil, fmt.Errorf("explain: deletion batch size must be positive, got %d", batch)
	}
	size := c.ImageSize * c.ImageSize * c.Channels
	fill, err := fillValues(opts.Fill, pix, c.Channels)
	if err != nil {
		return nil, err
	}

	res := &Deletion{Curves: make([][]float64, n), AUC: make([]float64, n), MeanCurve: make([]float64, steps+1)}
	removed := make([]int, steps+1) // patches removed after each step
	for s := range removed {
		removed[s] = int(math.Round(float64(s) * float64(patches) / float64(steps)))
		res.Fractions = append(res.Fractions, float64(removed[s])/float64(patches))
	}
	orders := make([][]int, n)
	for i := range n {
		orders[i] = DeletionOrder(maps[i])
		res.Curves[i] = make([]float64, steps+1)
	}

	// Variant v = i*(steps+1)+s is image i after step s; they run in calls of the same batch size.
	total := n * (steps + 1)
	batch = min(batch, total)
	buf := make([]float32, batch*size)
	for first := 0; first < total; first += batch {
		for j := range batch {
			dst := buf[j*size : (j+1)*size]
			v := first + j
			if v >= total { // padding of the last call
				clear(dst)
				continue
			}
			i, s := v/(steps+1), v%(steps+1)
			copy(dst, pix[i*size:(i+1)*size])
			for _, p := range orders[i][:removed[s]] {
				e.fillPatch(dst, p, fill)
			}
		}
		probs, err := e.Probabilities(buf, batch)
		if err != nil {
			return nil, err
		}
		for j := range batch {
			if v := first + j; v < total {
				i, s := v/(steps+1), v%(steps+1)
				res.Curves[i][s] = float64(probs[j][classes[i]])
			}
		}
	}
	for i := range n {
		res.AUC[i] = trapezoid(res.Fractions, res.Curves[i])
		res.MeanAUC += res.AUC[i] / float64(n)
		for s, p := range res.Curves[i] {
			res.MeanCurve[s] += p / float64(n)
		}
	}
	return res, nil
}

// Faithfulness runs the deletion test of each of ex's maps and of a random order (MethodRandom, seeded by
// seed) on the images ex explains (pix, n as given to Explain), for the classes ex explained.
func (e *Explainer) Faithfulness(pix []float32, n int, ex *Explanation, seed uint64, opts DeletionOptions) (map[Method]*Deletion, error) {
	out := map[Method]*Deletion{}
	random, err := RandomMaps(n, e.cfg.NumPatches(), seed)
	if err != nil {
		return nil, err
	}
	maps := map[Method][][]float64{MethodRandom: random}
	for m, v := range ex.Maps {
		maps[m] = v
	}
	for m, v := range maps {
		d, err := e.Deletion(pix, n, v, ex.Classes, opts)
		if err != nil {
			return nil, fmt.Errorf("deletion test of %s: %w", m, err)
		}
		out[m] = d
	}
	return out, nil
}

// fillValues returns the per-channel fill: given (one value, or one per channel) or the channel means of pix.
func fillValues(given, pix []float32, channels int) ([]float32, error) {
	switch {
	case len(given) == channels:
		return given, nil
	case len(given) == 1:
		out := make([]float32, channels)
		for ch := range out {
			out[ch] = given[0]
		}
		return out, nil
	case len(given) != 0:
		return nil, fmt.Errorf("explain: deletion fill has %d values, want 1 or one per channel (%d)", len(given), channels)
	}
	sums := make([]float64, channels)
	for i, v := range pix {
		sums[i%channels] += float64(v)
	}
	out := make([]float32, channels)
	for ch := range out {
		out[ch] = float32(sums[ch] / float64(len(pix)/channels))
	}
	return out, nil
}

// fillPatch sets patch p (row-major in the grid) of one NHWC image to the per-channel fill.
func (e *Explainer) fillPatch(img []float32, p int, fill []float32) {
	c := e.cfg
	grid, ps := c.GridSize(), c.PatchSize
	row, col := p/grid, p%grid
	for y := row * ps; y < (row+1)*ps; y++ {
		for x := col * ps; x < (col+1)*ps; x++ {
			copy(img[(y*c.ImageSize+x)*c.Channels:(y*c.ImageSize+x+1)*c.Channels], fill)
		}
	}
}

// trapezoid integrates y over x with the trapezoid rule.
func trapezoid(x, y []float64) float64 {
	area := 0.0
	for i := 1; i < len(x); i++ {
		area += (x[i] - x[i-1]) * (y[i] + y[i-1]) / 2
	}
	return area
}
