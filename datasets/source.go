package datasets

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
)

// Pixels is one decoded image: 8-bit values in row-major height, width, channels order (HWC), 1 channel (grey) or
// 3 (RGB).
type Pixels struct {
	Height, Width, Channels int
	// Pix has Height*Width*Channels values.
	Pix []uint8
}

// Source is one split of a data set: examples that can be read by index, each with a label. Implementations must
// be safe for concurrent calls of Load.
type Source interface {
	// Len is the number of examples.
	Len() int
	// Label returns the class of example i, in [0, number of classes), or -1 for unlabelled images.
	Label(i int) int32
	// Load returns example i decoded. The result must not be modified.
	Load(i int) (*Pixels, error)
	// Where names example i for messages: a file and record number or a file path.
	Where(i int) string
}

// ArraySource is a split held in memory, decoded: every image has the same size (MNIST, CIFAR).
type ArraySource struct {
	Height, Width, Channels int
	// Pix holds all images one after the other, each Height*Width*Channels bytes in HWC order.
	Pix []uint8
	// Labels has one class per image.
	Labels []int32
	// Origin names the file(s) the images came from, for messages.
	Origin string
}

// Len implements Source.
func (a *ArraySource) Len() int { return len(a.Labels) }

// Label implements Source.
func (a *ArraySource) Label(i int) int32 { return a.Labels[i] }

// Where implements Source.
func (a *ArraySource) Where(i int) string { return fmt.Sprintf("%s record %d", a.Origin, i) }

// Load implements Source; the returned Pixels share the memory of the source.
func (a *ArraySource) Load(i int) (*Pixels, error) {
	if i < 0 || i >= len(a.Labels) {
		return nil, fmt.Errorf("%s: record %d out of range [0, %d)", a.Origin, i, len(a.Labels))
	}
	n := a.Height * a.Width * a.Channels
	return &Pixels{Height: a.Height, Width: a.Width, Channels: a.Channels, Pix: a.Pix[i*n : (i+1)*n : (i+1)*n]}, nil
}

// FileSource is a split whose images are files decoded when read (Pets, Flowers, image folders): nothing but the
// paths is held in memory, so folders of any size stream.
type FileSource struct {
	// Paths of the image files.
	Paths []string
	// Labels has one class per path (-1 for unlabelled images).
	Labels []int32
}

// Len implements Source.
func (f *FileSource) Len() int { return len(f.Paths) }

// Label implements Source.
func (f *FileSource) Label(i int) int32 { return f.Labels[i] }

// Where implements Source.
func (f *FileSource) Where(i int) string { return f.Paths[i] }

// Load implements Source: it decodes the file as RGB, whatever its format (see DecodeFile).
func (f *FileSource) Load(i int) (*Pixels, error) {
	if i < 0 || i >= len(f.Paths) {
		return nil, fmt.Errorf("image %d out of range [0, %d)", i, len(f.Paths))
	}
	return DecodeFile(f.Paths[i])
}

// Subset is a view of the examples Index of another Source.
type Subset struct {
	Src   Source
	Index []int
}

// Len implements Source.
func (s *Subset) Len() int { return len(s.Index) }

// Label implements Source.
func (s *Subset) Label(i int) int32 { return s.Src.Label(s.Index[i]) }

// Where implements Source.
func (s *Subset) Where(i int) string { return s.Src.Where(s.Index[i]) }

// Load implements Source.
func (s *Subset) Load(i int) (*Pixels, error) { return s.Src.Load(s.Index[i]) }

// holdoutSeed fixes which examples are held out for validation, independently of the training seed, so that the
// validation split never changes between runs.
const holdoutSeed = 0x5eed

// Holdout splits src into a training part and a validation part holding about fraction of the examples, stratified
// by class (each class gives round(fraction*count) examples, adjusted by largest remainder so that the total is
// round(fraction*Len)). Which examples go where is fixed (it does not depend on any training seed). The paper holds
// out 2% of CIFAR and 10% of Pets and Flowers training data (Appendix B.1.1); the reference code takes the tail of
// the TFDS order, which is a random order, as here. A nil src gives two empty subsets.
func Holdout(src Source, fraction float64) (train, validation *Subset) {
	if src == nil {
		return &Subset{}, &Subset{} // no source: two empty subsets
	}
	n := src.Len()
	if !(fraction > 0) || n == 0 { // NaN holds nothing out too
		all := make([]int, n)
		for i := range all {
			all[i] = i
		}
		return &Subset{Src: src, Index: all}, &Subset{Src: src, Index: nil}
	}
	fraction = math.Min(fraction, 1)
	byClass := map[int32][]int{}
	for i := range n {
		byClass[src.Label(i)] = append(byClass[src.Label(i)], i)
	}
	classes := make([]int32, 0, len(byClass))
	for c := range byClass {
		classes = append(classes, c)
	}
	sort.Slice(classes, func(a, b int) bool { return classes[a] < classes[b] })
	total := int(math.Round(fraction * float64(n)))
	type share struct {
		class int32
		take  int
		rem   float64
	}
	shares := make([]share, len(classes))
	taken := 0
	for k, c := range classes {
		exact := fraction * float64(len(byClass[c]))
		shares[k] = share{class: c, take: int(exact), rem: exact - math.Floor(exact)}
		taken += shares[k].take
	}
	order := make([]int, len(shares))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return shares[order[a]].rem > shares[order[b]].rem })
	for k := 0; taken < total && k < len(order); k++ {
		if shares[order[k]].take < len(byClass[shares[order[k]].class]) {
			shares[order[k]].take++
			taken++
		}
	}
	rng := rand.New(rand.NewPCG(holdoutSeed, uint64(n)))
	held := make([]bool, n)
	for _, s := range shares {
		idx := append([]int(nil), byClass[s.class]...)
		rng.Shuffle(len(idx), func(a, b int) { idx[a], idx[b] = idx[b], idx[a] })
		for _, i := range idx[:s.take] {
			held[i] = true
		}
	}
	train, validation = &Subset{Src: src}, &Subset{Src: src}
	for i := range n {
		if held[i] {
			validation.Index = append(validation.Index, i)
		} else {
			train.Index = append(train.Index, i)
		}
	}
	return train, validation
}
