package datasets

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/vitnb/vitnb/vitnb/files"
)

// Describe writes what `vit data show` prints: name, source, checksums of the published files, classes and the
// number of examples of each class in each split, and the warnings. When files are not the published ones (their
// checksum does not match), it says so in an error wrapping files.ErrMismatch, after writing everything.
func (ds *Dataset) Describe(w io.Writer) error {
	if err := ds.check(); err != nil {
		return err
	}
	if w == nil {
		return errors.New("describing the data set " + ds.Name + ": no writer (nil)")
	}
	mismatches := 0
	fmt.Fprintf(w, "data set:  %s\n", ds.Name)
	fmt.Fprintf(w, "source:    %s\n", ds.Origin)
	warnings := ds.Warnings
	if info, err := Lookup(ds.Name); err == nil {
		fmt.Fprintf(w, "about:     %s (%s)\n", info.Title, info.Homepage)
		states, err := Verify(info, ds.Dir)
		if err != nil {
			return err
		}
		for _, s := range states {
			fmt.Fprintf(w, "checksum:  %s: %s\n", s.File, s.State)
			if s.Mismatch {
				mismatches++
				if !slices.ContainsFunc(warnings, func(w string) bool { return strings.Contains(w, s.File) }) {
					warnings = append(warnings, s.File+": "+s.State)
				}
			}
		}
	}
	splits := ds.SplitNames()
	fmt.Fprintf(w, "classes:   %d\n", len(ds.Classes))
	tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', tabwriter.AlignRight)
	width := len("examples")
	for c, name := range ds.Classes {
		width = max(width, len(fmt.Sprintf("%d %s", c, name)))
	}
	fmt.Fprintf(tw, "%-*s\t%s\t\n", width, "", strings.Join(splits, "\t"))
	counts := make([][]int, len(splits))
	total := make([]string, len(splits))
	for i, s := range splits {
		src := ds.Splits[s]
		total[i] = fmt.Sprint(src.Len())
		counts[i] = make([]int, len(ds.Classes))
		for k := range src.Len() {
			if l := src.Label(k); l >= 0 && int(l) < len(ds.Classes) {
				counts[i][l]++
			}
		}
	}
	fmt.Fprintf(tw, "%-*s\t%s\t\n", width, "examples", strings.Join(total, "\t"))
	for c, name := range ds.Classes {
		row := make([]string, len(splits))
		for i := range splits {
			row[i] = fmt.Sprint(counts[i][c])
		}
		fmt.Fprintf(tw, "%-*s\t%s\t\n", width, fmt.Sprintf("%d %s", c, name), strings.Join(row, "\t"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "warnings:  %d\n", len(warnings))
	for _, msg := range warnings {
		fmt.Fprintf(w, "  %s\n", msg)
	}
	if mismatches > 0 {
		return fmt.Errorf("%s: %d file(s) are not the published ones (%w): MISMATCH above, and what to do in its warning",
			ds.Name, mismatches, files.ErrMismatch)
	}
	return nil
}

// WriteWarnings writes the warnings of loading ds (Warnings), one line each, for commands that use a data set
// rather than describe it.
func (ds *Dataset) WriteWarnings(w io.Writer) {
	for _, msg := range ds.Warnings {
		fmt.Fprintf(w, "warning: %s\n", msg)
	}
}

// Captions names the images of a batch of a split: their class, or for unlabelled images their file name.
func (ds *Dataset) Captions(split string, b *Batch) []string {
	src, _ := ds.Split(split)
	captions := make([]string, b.N)
	for i := range b.N {
		if l := b.Labels[i]; l >= 0 && int(l) < len(ds.Classes) {
			captions[i] = ds.Classes[l]
		} else if src != nil {
			captions[i] = filepath.Base(src.Where(b.Index[i]))
		}
	}
	return captions
}

// Sample returns n images of a split in a random order drawn with seed, at size x size in RGB (values in [-1, 1]),
// with the training augmentation when augment, and their captions (Captions): what `vit data sample` draws. Images
// that fail to decode are skipped with a warning to warnf.
//
// The pictures are sized first: n pictures of size x size pixels beyond files.MaxPicturePixels (the contact sheet
// of `vit data sample` shows them all, and they are float32 RGB before that) are refused, before any is read.
func (ds *Dataset) Sample(split string, n, size int, augment bool, seed uint64, warnf func(string, ...any)) (*Batch, []string, error) {
	if err := ds.check(); err != nil {
		return nil, nil, err
	}
	if err := files.CheckPicture(float64(max(n, 0))*float64(size)*float64(size), fmt.Sprintf("%d pictures of %dx%d pixels",
		n, size, size), "ask for fewer or smaller pictures (vit data sample -n, -size)"); err != nil {
		return nil, nil, fmt.Errorf("sample of %s/%s: %w", ds.Name, split, err)
	}
	cfg := Config{BatchSize: n, Size: size, Channels: 3, Augment: augment, Shuffle: true, Seed: seed, SkipBad: true, Warnf: warnf}
	p, err := ds.Pipeline(split, cfg)
	if err != nil {
		return nil, nil, err
	}
	for b, err := range p.Batches() {
		if err != nil {
			return nil, nil, err
		}
		return b, ds.Captions(split, b), nil
	}
	return nil, nil, fmt.Errorf("%s/%s has no images", ds.Name, split)
}

// WriteList writes a table of the registered data sets: name, validation hold-out, where their files are (an offline
// copy, the cache folder cacheDir, "" for DefaultDir, or not here) and description; then the folder forms.
func WriteList(w io.Writer, cacheDir string) error {
	if w == nil {
		return errors.New("listing the data sets: no writer (nil)")
	}
	tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tHOLDOUT\tFILES\tDESCRIPTION")
	for _, name := range Names() {
		info := registry[name]
		where := "not here (vit data get " + name + ")"
		if _, origin, err := info.Locate(cacheDir); err == nil {
			where = origin
		}
		fmt.Fprintf(tw, "%s\t%g%%\t%s\t%s\n", name, 100*info.Holdout, where, info.Title)
	}
	fmt.Fprintln(tw, "folder:PATH\t-\t-\tImageNet-style folder: PATH/CLASS/*.jpg, or PATH/{train,val,test}/CLASS/*.jpg")
	fmt.Fprintln(tw, "images:PATH\t-\t-\tany folder of your own images, unlabelled")
	return tw.Flush()
}
