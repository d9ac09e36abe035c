package datasets

import (
	"bufio"
	"fmt"
	"image"
	"image/color"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// FolderSurvey is what a look at a folder of one sub-folder per class finds before training on it (SurveyFolder):
// the data set LoadFolder makes of it, without the files whose header cannot be read; how many images each class
// has; whether the images are grey; and, one line each, what is wrong with it.
type FolderSurvey struct {
	// Dataset is the folder as LoadFolder loads it, with the unreadable files taken out of its splits.
	Dataset *Dataset
	// Counts[split][class] is the number of readable images of each class in each split of Dataset.
	Counts map[string][]int
	// Grey tells whether every readable image is grey (its header's colour model: grey or 16-bit grey).
	Grey bool
	// MinSide and MaxSide are the smallest and largest width or height of the readable images, in pixels.
	MinSide, MaxSide int
	// Unreadable counts the files whose header does not decode (corrupt, empty, not an image under an image name,
	// above MaxImagePixels), Reasons gives the first few with why.
	Unreadable int
	Reasons    []string
	// Problems says, one line each, what may spoil a training: the loader's warnings (files and folders left
	// out), the unreadable files, classes with fewer than the minimum images, classes without any, and a class
	// much larger than another.
	Problems []string
}

// TinyImageSide is the width or height in pixels below which SurveyFolder reports an image as tiny: resized to
// the model's input, it carries almost nothing (an icon, a tracking pixel, a thumbnail saved by mistake).
const TinyImageSide = 8

// ImbalanceRatio is the ratio of the largest class to the smallest above which SurveyFolder reports imbalance.
const ImbalanceRatio = 3

// SurveyFolder loads the folder dir as LoadFolder does and reads the header of every image (image.DecodeConfig:
// no pixel is decoded, so an image of 20,000x20,000 pixels costs its header only, and is refused with the
// reason when above MaxImagePixels or the memory at hand). Files whose header fails are counted in Unreadable and
// left out of the data set. minPerClass is the number of images a class needs (those with fewer are listed
// in Problems). Its error is one line, for a folder that cannot be loaded at all.
func SurveyFolder(dir string, minPerClass int) (*FolderSurvey, error) {
	ds, err := LoadFolder(dir)
	if err != nil {
		return nil, err
	}
	s := &FolderSurvey{Dataset: ds, Counts: map[string][]int{}, Grey: true, MinSide: -1}
	s.Problems = append(s.Problems, ds.Warnings...)
	bad, tiny := counted{}, counted{}
	for _, split := range ds.SplitNames() {
		src, ok := ds.Splits[split].(*FileSource)
		if !ok {
			continue
		}
		kept := &FileSource{}
		counts := make([]int, len(ds.Classes))
		for i, p := range src.Paths {
			cfg, err := ImageHeader(p)
			if err != nil {
				bad.add(err.Error())
				continue
			}
			kept.Paths, kept.Labels = append(kept.Paths, p), append(kept.Labels, src.Labels[i])
			counts[src.Labels[i]]++
			if cfg.ColorModel != color.GrayModel && cfg.ColorModel != color.Gray16Model {
				s.Grey = false
			}
			lo, hi := min(cfg.Width, cfg.Height), max(cfg.Width, cfg.Height)
			if lo < TinyImageSide {
				tiny.add(fmt.Sprintf("%s %dx%d", p, cfg.Width, cfg.Height))
			}
			if s.MinSide < 0 || lo < s.MinSide {
				s.MinSide = lo
			}
			s.MaxSide = max(s.MaxSide, hi)
		}
		ds.Splits[split], s.Counts[split] = kept, counts
	}
	s.Unreadable, s.Reasons = bad.n, bad.first
	if bad.n > 0 {
		more := ""
		if bad.n > len(bad.first) {
			more = ", ..."
		}
		s.Problems = append(s.Problems, fmt.Sprintf("%s: image files that cannot be read left out: %d (%s%s)", dir, bad.n,
			strings.Join(bad.first, "; "), more))
	}
	if tiny.n > 0 {
		s.Problems = append(s.Problems, fmt.Sprintf("%s: images smaller than %d pixels a side: %s: resized to the "+
			"model's input they carry almost nothing", dir, TinyImageSide, tiny.String()))
	}
	train := s.Counts[SplitTrain]
	if s.MinSide < 0 {
		s.Grey = false
		return nil, fmt.Errorf("image folder %s: none of its %d image files can be read (%s)", dir, bad.n,
			strings.Join(bad.first, "; "))
	}
	var few, none []string
	for c, n := range train {
		switch {
		case n == 0:
			none = append(none, ds.Classes[c])
		case n < minPerClass:
			few = append(few, fmt.Sprintf("%s (%d)", ds.Classes[c], n))
		}
	}
	if len(none) > 0 {
		s.Problems = append(s.Problems, fmt.Sprintf("%s: %d of %d classes have no readable image: %s (the model "+
			"still gets an output for each, never trained)", dir, len(none), len(train), quoteFew(none)))
	}
	if len(few) > 0 {
		s.Problems = append(s.Problems, fmt.Sprintf("%s: %d of %d classes have fewer than %d images: %s (too few to "+
			"learn from and to test on)", dir, len(few), len(train), minPerClass, quoteFew(few)))
	}
	if lo, hi := smallestLargest(train); lo > 0 && hi > ImbalanceRatio*lo {
		s.Problems = append(s.Problems, fmt.Sprintf("%s: imbalanced: %s has %d images, %s only %d (%.1fx): accuracy "+
			"flatters the large classes, read the per-class accuracy", dir, ds.Classes[slices.Index(train, hi)], hi,
			ds.Classes[slices.Index(train, lo)], lo, float64(hi)/float64(lo)))
	}
	return s, nil
}

// smallestLargest returns the smallest non-zero count and the largest.
func smallestLargest(counts []int) (lo, hi int) {
	for _, n := range counts {
		if n > 0 && (lo == 0 || n < lo) {
			lo = n
		}
		hi = max(hi, n)
	}
	return lo, hi
}

// ImageHeader reads the header of an image file (image.DecodeConfig) with the checks DecodeFile makes before it
// decodes any pixel: a known format, a size within MaxImagePixels and within the memory at hand. Errors name the
// file and say what is wrong in one line.
func ImageHeader(path string) (image.Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return image.Config{}, fmt.Errorf("reading image: %w", err)
	}
	defer f.Close()
	cfg, _, err := decodeHeader(bufio.NewReader(f))
	if err != nil {
		return cfg, fmt.Errorf("%s: %w", path, err)
	}
	return cfg, nil
}

// CarveSplits gives ds a validation and a test split when it has none, taken from its training split (fractions
// validation and test of it, stratified by class, always the same images: Holdout's fixed seed), and says in
// one line what it did. A folder that has its own val/ or test/ keeps it.
func (ds *Dataset) CarveSplits(validation, test float64) (string, error) {
	if !(validation >= 0 && test >= 0 && validation+test < 1) {
		return "", fmt.Errorf("%s: validation and test fractions must be at least 0 and sum below 1, got %g and %g",
			ds.Name, validation, test)
	}
	train, ok := ds.Splits[SplitTrain]
	if !ok {
		return "", fmt.Errorf("%s has no training split to carve from", ds.Name)
	}
	n := train.Len()
	var did []string
	if _, has := ds.Splits[SplitTest]; !has && test > 0 {
		rest, held := Holdout(train, test)
		ds.Splits[SplitTrain], ds.Splits[SplitTest] = rest, held
		train = rest
		did = append(did, fmt.Sprintf("%d test", held.Len()))
	}
	_, hasVal := ds.Splits[SplitVal]
	if _, has := ds.Splits[SplitValidation]; !has && !hasVal && validation > 0 {
		rest, held := Holdout(train, validation*float64(n)/float64(max(train.Len(), 1)))
		ds.Splits[SplitTrain], ds.Splits[SplitValidation] = rest, held
		did = append(did, fmt.Sprintf("%d validation", held.Len()))
	} else if hasVal {
		ds.Splits[SplitValidation] = ds.Splits[SplitVal]
		delete(ds.Splits, SplitVal)
	}
	if len(did) == 0 {
		return fmt.Sprintf("%s: its own splits kept (%s)", ds.Name, strings.Join(ds.SplitNames(), ", ")), nil
	}
	return fmt.Sprintf("%s: %d images: %d for training, %s held out, stratified by class, the same images each run",
		ds.Name, n, ds.Splits[SplitTrain].Len(), strings.Join(did, " and ")), nil
}

// Pictures names the class folders of a survey's training split with their first images: at most perClass paths
// for each of the first maxClasses classes, for a sample grid.
func (s *FolderSurvey) Pictures(perClass, maxClasses int) [][]string {
	src, ok := s.Dataset.Splits[SplitTrain]
	out := make([][]string, min(len(s.Dataset.Classes), max(maxClasses, 0)))
	if !ok {
		return out
	}
	for i := range src.Len() {
		if l := int(src.Label(i)); l >= 0 && l < len(out) && len(out[l]) < perClass {
			out[l] = append(out[l], filepath.Clean(src.Where(i)))
		}
	}
	return out
}
