package datasets

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/vitnb/vitnb/vitnb/files"
)

// Split names. Train and Validation are carved from the published training split (see Holdout); Test is the
// published test split; Val is a published validation split (Flowers-102's valid ids); All is every image of an
// unlabelled folder.
const (
	SplitTrain      = "train"
	SplitValidation = "validation"
	SplitTest       = "test"
	SplitVal        = "val"
	SplitAll        = "all"
)

// RemoteFile is one file of a data set as published (files.RemoteFile: name, URL, checksums, Manual for files
// that cannot be downloaded automatically, RawMD5 for .gz files).
type RemoteFile = files.RemoteFile

// Info describes a data set of the registry.
type Info struct {
	// Name is the registry name, e.g. "cifar10".
	Name string
	// Folder is the sub-folder of the cache folder holding the files; "" means Name (cifar100-coarse shares
	// cifar100's).
	Folder string
	// Title is a human-readable name.
	Title string
	// Homepage of the data set.
	Homepage string
	// Files are the published files; nil for user folders.
	Files []RemoteFile
	// Holdout is the fraction of the training split held out as the validation split by default (the paper's
	// Appendix B.1.1: 2% for CIFAR, 10% for Pets and Flowers; none for the others).
	Holdout float64
	// Offline lists folders searched before the cache folder (offline copies from system packages).
	Offline func() []string
	load    func(dir string) (*Dataset, error)
}

// Dataset is a loaded data set: class names and splits.
type Dataset struct {
	// Name is the registry name.
	Name string
	// Classes are the class names, in label order.
	Classes []string
	// Splits by name (SplitTrain, SplitValidation, SplitTest, SplitVal, SplitAll).
	Splits map[string]Source
	// Dir is the folder the files were read from.
	Dir string
	// Origin describes where the files came from (offline copy, cache folder, archive).
	Origin string
	// Warnings counts problems that were skipped while loading (e.g. empty class folders, unreadable entries),
	// with one message each.
	Warnings []string
	// layout says how a folder was read when it was not as split folders (LoadFolder's warning, "train/, test/
	// taken as class folders"): a missing split's error repeats it, since it explains why the split is missing.
	layout string
}

// Options tune Load.
type Options struct {
	// Dir is the cache folder holding one sub-folder per data set; "" means DefaultDir().
	Dir string
	// Holdout is the fraction of the training split held out for validation: 0 means the paper's value (Info.Holdout),
	// negative means none; NaN, or 1 or more, is an error.
	Holdout float64
	// KeepMismatched loads files that are not the published ones (wrong size or checksum, in the cache folder or
	// an offline copy), listing each in Dataset.Warnings, instead of failing; for inspection (`vit data show`).
	KeepMismatched bool
}

// DefaultDir is the cache folder of data sets: $VITNB_DATA if set, else datasets/ in vitnb's cache
// (files.DatasetsDir: $VITNB_CACHE/datasets, by default ~/.cache/vitnb/datasets).
func DefaultDir() string { return files.DatasetsDir() }

var registry = map[string]*Info{}

func register(info *Info) { registry[info.Name] = info }

// Names lists the registered data sets, sorted. Besides these, Load accepts "folder:PATH" (an ImageNet-style folder)
// and "images:PATH" (a folder of unlabelled images).
func Names() []string {
	names := make([]string, 0, len(registry))
	for n := range registry {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Lookup returns the Info of a registered data set.
func Lookup(name string) (*Info, error) {
	if strings.HasPrefix(name, "folder:") || strings.HasPrefix(name, "images:") {
		return nil, fmt.Errorf("%s is a local folder, not a registered data set: nothing to download or look up", name)
	}
	info, ok := registry[strings.ToLower(name)]
	if !ok {
		return nil, fmt.Errorf("unknown data set %q: want one of %s, folder:PATH or images:PATH", name,
			strings.Join(Names(), ", "))
	}
	return info, nil
}

// ErrNotFound is wrapped by the errors of Load when the files of a data set are not there.
var ErrNotFound = errors.New("data set files not found")

// Load loads a data set by name: a registered one (Names), "folder:PATH" for an ImageNet-style folder (see
// LoadFolder) or "images:PATH" for a folder of unlabelled images (see LoadImages). Registered data sets are read from
// their offline copy if there is one, else from Options.Dir/NAME; nothing is downloaded (see Fetch). Their published
// files are checked against their checksums (a file is hashed once, then rechecked by its size and modification
// time): a file that is not the published one is refused, unless Options.KeepMismatched. A validation
// split is carved from the training split as the paper does (Options.Holdout).
func Load(name string, opts Options) (*Dataset, error) {
	var (
		ds      *Dataset
		err     error
		holdout float64
	)
	if p, ok := strings.CutPrefix(name, "folder:"); ok {
		ds, err = LoadFolder(p)
	} else if p, ok := strings.CutPrefix(name, "images:"); ok {
		ds, err = LoadImages(p)
	} else {
		var info *Info
		if info, err = Lookup(name); err != nil {
			return nil, err
		}
		holdout = info.Holdout
		dir, origin, err := info.Locate(opts.Dir)
		if err != nil {
			return nil, err
		}
		// The published files are checked each time they are read: hashed once, then by their stamp.
		mismatches, err := info.check(dir, opts.KeepMismatched)
		if err != nil {
			return nil, err
		}
		if len(mismatches) > 0 && !opts.KeepMismatched {
			return nil, mismatches[0]
		}
		if ds, err = info.load(dir); err != nil {
			if len(mismatches) > 0 { // KeepMismatched, but the file does not even read: the mismatch says why.
				return nil, mismatches[0]
			}
			return nil, fmt.Errorf("%s: %w", info.Name, err)
		}
		ds.Name, ds.Dir = info.Name, dir
		if ds.Origin == "" {
			ds.Origin = origin
		}
		for _, m := range mismatches {
			ds.Warnings = append(ds.Warnings, m.Error())
		}
	}
	if err != nil {
		return nil, err
	}
	if opts.Holdout != 0 {
		if !(opts.Holdout < 1) { // NaN too
			return nil, fmt.Errorf("%s: the holdout must be a fraction below 1 of the training split, got %g", ds.Name, opts.Holdout)
		}
		holdout = max(opts.Holdout, 0)
	}
	if train, ok := ds.Splits[SplitTrain]; ok && holdout > 0 {
		tr, va := Holdout(train, holdout)
		ds.Splits[SplitTrain], ds.Splits[SplitValidation] = tr, va
	}
	return ds, nil
}

// Locate returns the folder holding the data set's files: an offline copy, or the sub-folder NAME of cacheDir
// ("" for DefaultDir) when it has the files. When neither has them, the error (wrapping ErrNotFound) says what to
// download and where to put it.
func (info *Info) Locate(cacheDir string) (dir, origin string, err error) {
	if info == nil {
		return "", "", errNoInfo
	}
	if info.Offline != nil {
		for _, d := range info.Offline() {
			if info.complete(d) {
				return d, "offline copy in " + d, nil
			}
		}
	}
	dir = info.CacheDir(cacheDir)
	if err := files.CheckCache(dir); err != nil {
		return "", "", err
	}
	if info.complete(dir) {
		return dir, "cache folder " + dir, nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %v in %s. Download them (`vit data get %s`, or by hand) and put them there:", info.Name,
		ErrNotFound, dir, info.Name)
	for _, f := range info.Files {
		sum := ""
		if f.MD5 != "" {
			sum = " (md5 " + f.MD5 + ")"
		}
		fmt.Fprintf(&b, "\n  %s%s\n    from %s", filepath.Join(dir, f.Name), sum, f.URL)
	}
	return "", "", fmt.Errorf("%w", wrapped{msg: b.String(), err: ErrNotFound})
}

// CacheDir returns the folder of the data set in the cache folder cacheDir ("" for DefaultDir).
func (info *Info) CacheDir(cacheDir string) string {
	if cacheDir == "" {
		cacheDir = DefaultDir()
	}
	if info.Folder != "" {
		return filepath.Join(cacheDir, info.Folder)
	}
	return filepath.Join(cacheDir, info.Name)
}

// complete tells whether dir has every published file of the data set (or what was extracted from them).
func (info *Info) complete(dir string) bool {
	if dir == "" {
		return false
	}
	for _, f := range info.Files {
		if !exists(filepath.Join(dir, f.Name)) && !exists(filepath.Join(dir, extractedName(f.Name))) {
			return false
		}
	}
	return len(info.Files) > 0
}

// extractedName is the folder an archive extracts to, for the published archives.
func extractedName(file string) string {
	switch file {
	case "cifar-10-binary.tar.gz":
		return "cifar-10-batches-bin"
	case "cifar-100-binary.tar.gz":
		return "cifar-100-binary"
	case "images.tar.gz":
		return "images"
	case "annotations.tar.gz":
		return "annotations"
	case "102flowers.tgz":
		return "jpg"
	}
	return file
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// wrapped is an error with its own message that still matches err with errors.Is.
type wrapped struct {
	msg string
	err error
}

// Error implements error.
func (w wrapped) Error() string { return w.msg }

// Unwrap gives errors.Is the wrapped error.
func (w wrapped) Unwrap() error { return w.err }

// errNoInfo is the error of the methods of a nil *Info and of functions given one.
var errNoInfo = errors.New("no data set description (nil *datasets.Info): use datasets.Lookup")

// check tells whether d is a data set at all: the methods of a nil *Dataset return this error instead of
// panicking.
func (d *Dataset) check() error {
	if d == nil {
		return errors.New("no data set (nil *datasets.Dataset): use datasets.Load")
	}
	return nil
}

// Pipeline returns a pipeline over one split; see Config, TrainConfig and EvalConfig. For grey data sets, cfg.Channels
// 0 keeps 1 channel.
func (d *Dataset) Pipeline(split string, cfg Config) (*Pipeline, error) {
	if err := d.check(); err != nil {
		return nil, err
	}
	src, err := d.Split(split)
	if err != nil {
		return nil, err
	}
	if cfg.Name == "" || cfg.Name == "train" || cfg.Name == "eval" {
		cfg.Name = d.Name + "/" + split
	}
	p, err := NewPipeline(src, cfg)
	if err != nil {
		return nil, fmt.Errorf("%s/%s: %w", d.Name, split, err)
	}
	return p, nil
}

// Split returns a split by name, with an error listing the available ones if it does not exist.
func (d *Dataset) Split(name string) (Source, error) {
	if err := d.check(); err != nil {
		return nil, err
	}
	if s, ok := d.Splits[name]; ok && s.Len() > 0 {
		return s, nil
	}
	why := ""
	if name == SplitValidation {
		why = " (a validation split is held out of train: a holdout fraction, vit's -holdout)"
	}
	layout := ""
	if d.layout != "" {
		layout = " (" + d.layout + ")"
	}
	return nil, fmt.Errorf("%s: no split %q (or it is empty)%s: the data set has %s%s", d.Name, name, why,
		strings.Join(d.SplitNames(), ", "), layout)
}

// SplitNames lists the non-empty splits, in the order train, validation, val, test, all (none for a nil Dataset).
func (d *Dataset) SplitNames() []string {
	var names []string
	if d == nil {
		return nil
	}
	for _, n := range []string{SplitTrain, SplitValidation, SplitVal, SplitTest, SplitAll} {
		if s, ok := d.Splits[n]; ok && s.Len() > 0 {
			names = append(names, n)
		}
	}
	return names
}
