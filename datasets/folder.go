package datasets

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// imageExtensions are the file extensions read from folders: torchvision's IMG_EXTENSIONS that Go decodes (.ppm and
// .pgm are left out) plus .gif.
var imageExtensions = map[string]bool{".jpg": true, ".jpeg": true, ".png": true, ".bmp": true, ".tif": true,
	".tiff": true, ".webp": true, ".gif": true}

// IsImageFile tells whether a file name has an image extension (case-insensitive) and is not hidden.
func IsImageFile(name string) bool {
	base := filepath.Base(name)
	return !isHidden(base) && imageExtensions[strings.ToLower(filepath.Ext(base))]
}

// isHidden tells whether a file or folder name is hidden (starts with a dot), which the folder loaders ignore.
func isHidden(name string) bool { return strings.HasPrefix(name, ".") }

// namedExamples is how many file names a count of left-out files quotes (the first ones, in path order).
const namedExamples = 3

// counted is a count of files left out for one reason, with the first few of their paths.
type counted struct {
	n     int
	first []string
}

func (c *counted) add(path string) {
	c.n++
	if len(c.first) < namedExamples {
		c.first = append(c.first, path)
	}
}

// String gives "N (e.g. a, b, c)" or "1 (a)".
func (c *counted) String() string {
	if c.n == 1 {
		return fmt.Sprintf("1 (%s)", c.first[0])
	}
	more := ""
	if c.n > len(c.first) {
		more = ", ..."
	}
	return fmt.Sprintf("%d (%s%s)", c.n, strings.Join(c.first, ", "), more)
}

// folderTally counts what the folder walker leaves out, for the warnings of LoadFolder and LoadImages.
type folderTally struct {
	hidden     counted // hidden files and folders (names starting with a dot)
	other      counted // files without an image extension
	special    counted // devices, pipes, sockets (a link to /dev/zero named x.png): not read
	unreadable counted // folders that cannot be listed, links that lead nowhere
	loops      counted // links back to a folder already walked
}

// warnings returns one line per kind of file left out under root.
func (t *folderTally) warnings(root string) []string {
	var w []string
	for _, k := range []struct {
		c    *counted
		what string
	}{
		{&t.other, "files without an image extension ignored"},
		{&t.special, "devices, pipes or sockets ignored"},
		{&t.hidden, "hidden files or folders ignored"},
		{&t.unreadable, "folders or links that cannot be read skipped"},
		{&t.loops, "links to a folder already walked (a loop) skipped"},
	} {
		if k.c.n > 0 {
			w = append(w, fmt.Sprintf("%s: %s: %s", root, k.what, k.c.String()))
		}
	}
	return w
}

// walkImages returns the image files under dir, recursively and sorted, as torchvision's ImageFolder finds them
// (os.walk with followlinks=True): links to files and folders are followed, but a folder is walked once (a link
// loop, or two links to one folder, is counted in t.loops instead of being walked forever). Hidden entries, files
// without an image extension and folders that cannot be read are left out and counted in t; only dir itself must be
// readable.
func walkImages(dir string, t *folderTally) ([]string, error) {
	seen := map[string]bool{}
	var paths []string
	var walk func(p string, top bool) error
	walk = func(p string, top bool) error {
		real, err := filepath.EvalSymlinks(p)
		if err == nil {
			real, err = filepath.Abs(real)
		}
		if err != nil {
			if top {
				return fmt.Errorf("reading %s: %w", p, err)
			}
			t.unreadable.add(p)
			return nil
		}
		if seen[real] {
			t.loops.add(p)
			return nil
		}
		seen[real] = true
		entries, err := os.ReadDir(p)
		if err != nil {
			if top {
				return fmt.Errorf("reading %s: %w", p, err)
			}
			t.unreadable.add(p)
			// ReadDir returns the entries it read before the error: walk them too.
		}
		for _, e := range entries {
			sub := filepath.Join(p, e.Name())
			if isHidden(e.Name()) {
				t.hidden.add(sub)
				continue
			}
			mode := e.Type()
			if mode&os.ModeSymlink != 0 {
				st, err := os.Stat(sub)
				if err != nil {
					t.unreadable.add(sub)
					continue
				}
				mode = st.Mode().Type()
			}
			switch {
			case mode.IsDir():
				if err := walk(sub, false); err != nil {
					return err
				}
			case !mode.IsRegular():
				t.special.add(sub)
			case IsImageFile(sub):
				paths = append(paths, sub)
			default:
				t.other.add(sub)
			}
		}
		return nil
	}
	if err := walk(dir, true); err != nil {
		return nil, err
	}
	sort.Strings(paths)
	return paths, nil
}

// subFolders returns the sorted names of the folders in dir, links to folders included (torchvision's find_classes
// with os.scandir, which follows links), and counts what else is there in t: hidden entries, and files, which no
// class holds.
func subFolders(dir string, t *folderTally) (names []string, files int, err error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, 0, fmt.Errorf("reading %s: %w", dir, err)
	}
	for _, e := range entries {
		if isHidden(e.Name()) {
			if t != nil {
				t.hidden.add(filepath.Join(dir, e.Name()))
			}
			continue
		}
		if isDir(filepath.Join(dir, e.Name())) {
			names = append(names, e.Name())
		} else {
			files++
		}
	}
	sort.Strings(names)
	return names, files, nil
}

// isDir tells whether path is a folder or a link to one.
func isDir(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.IsDir()
}

// folderSplits maps the sub-folder names that LoadFolder recognises as splits.
var folderSplits = map[string]string{"train": SplitTrain, "val": SplitVal, "validation": SplitVal, "test": SplitTest}

// splitLayout tells whether dir holds splits (train/ and maybe val/, validation/, test/, each with class folders)
// rather than classes: it does when train/ has sub-folders and every folder beside it is a split. Otherwise train/,
// val/ and test/ are classes like any other (a data set may well have a class "train"), said in a warning when one
// is there.
func splitLayout(dir string, folders []string) (bool, string) {
	var splits, others []string
	for _, f := range folders {
		if _, ok := folderSplits[f]; ok {
			splits = append(splits, f)
		} else {
			others = append(others, f)
		}
	}
	if len(splits) == 0 {
		return false, ""
	}
	trainClasses, _, _ := subFolders(filepath.Join(dir, "train"), nil)
	switch {
	case !isDir(filepath.Join(dir, "train")):
		return false, fmt.Sprintf("%s: %s taken as class folders (there is no train/ folder of classes)", dir,
			strings.Join(splits, ", "))
	case len(others) > 0:
		return false, fmt.Sprintf("%s: %s taken as class folders, not splits, since %s are there too", dir,
			strings.Join(splits, ", "), quoteFew(others))
	case len(trainClasses) == 0:
		return false, fmt.Sprintf("%s: %s taken as class folders, not splits, since train/ has no class sub-folders",
			dir, strings.Join(splits, ", "))
	}
	return true, ""
}

// quoteFew joins the first names of a list, saying how many there are beyond them.
func quoteFew(names []string) string {
	if len(names) <= namedExamples {
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(names[:namedExamples], ", "), len(names)-namedExamples)
}

// LoadFolder loads an ImageNet-style folder as torchvision's ImageFolder does: one sub-folder per class (class names
// are the sorted folder names; a link to a folder is a class too), and a class's images are all the image files
// below its folder, in sub-folders too, links followed. If dir holds only split folders, train/ with class folders
// and maybe val/ (or validation/) and test/, each is a split with the classes of train/; else dir itself is the
// train split, and a folder named train, val or test is a class like the others. Images stream from disk; one that
// cannot be decoded is skipped when read, counted (see Config.SkipBad). Warnings say, one line each, with a count
// and the first names: files and folders ignored (hidden, non-image, unreadable, link loops), files outside any
// class folder, class folders without images.
func LoadFolder(dir string) (*Dataset, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("image folder: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("image folder %s is not a folder", dir)
	}
	ds := &Dataset{Name: "folder:" + dir, Dir: dir, Origin: "folder " + dir, Splits: map[string]Source{}}
	top := &folderTally{}
	folders, loose, err := subFolders(dir, top)
	if err != nil {
		return nil, fmt.Errorf("image folder: %w", err)
	}
	splitDirs := map[string]string{SplitTrain: dir}
	isSplits, note := splitLayout(dir, folders)
	if note != "" {
		ds.Warnings, ds.layout = append(ds.Warnings, note), note
	}
	if isSplits {
		for _, sub := range folders {
			splitDirs[folderSplits[sub]] = filepath.Join(dir, sub)
		}
		if loose > 0 {
			ds.Warnings = append(ds.Warnings, fmt.Sprintf("%s: %d files outside the split folders ignored", dir, loose))
		}
		ds.Warnings = append(ds.Warnings, top.warnings(dir)...)
	}
	ds.Classes, _, err = subFolders(splitDirs[SplitTrain], nil)
	if err != nil {
		return nil, fmt.Errorf("image folder: %w", err)
	}
	if len(ds.Classes) == 0 {
		what := "it is empty"
		if loose > 0 {
			what = fmt.Sprintf("it has %d files but no folder", loose)
		}
		return nil, fmt.Errorf("image folder %s has no class folders (%s): want one sub-folder of images per class, "+
			"as PATH/CLASS/*.jpg (or images:PATH for a folder of unlabelled images)", splitDirs[SplitTrain], what)
	}
	if len(ds.Classes) == 1 {
		ds.Warnings = append(ds.Warnings, fmt.Sprintf("%s: one class only (%s): a classifier of one class always "+
			"predicts it; give a folder per class", splitDirs[SplitTrain], ds.Classes[0]))
	}
	classIndex := map[string]int32{}
	for i, c := range ds.Classes {
		classIndex[c] = int32(i)
	}
	splits := make([]string, 0, len(splitDirs))
	for s := range splitDirs {
		splits = append(splits, s)
	}
	sort.Strings(splits)
	for _, split := range splits {
		root := splitDirs[split]
		t := &folderTally{}
		names, loose, err := subFolders(root, t)
		if err != nil {
			return nil, fmt.Errorf("image folder: %w", err)
		}
		if loose > 0 {
			ds.Warnings = append(ds.Warnings, fmt.Sprintf("%s: %d files outside any class folder ignored", root, loose))
		}
		src := &FileSource{}
		var empty, unknown []string
		for _, c := range names {
			label, ok := classIndex[c]
			if !ok {
				unknown = append(unknown, c)
				continue
			}
			paths, err := walkImages(filepath.Join(root, c), t)
			if err != nil {
				return nil, fmt.Errorf("image folder: %w", err)
			}
			if len(paths) == 0 {
				empty = append(empty, c)
			}
			for _, p := range paths {
				src.Paths = append(src.Paths, p)
				src.Labels = append(src.Labels, label)
			}
		}
		if len(unknown) > 0 {
			ds.Warnings = append(ds.Warnings, fmt.Sprintf("%s: %d class folders that %s does not have skipped: %s",
				root, len(unknown), splitDirs[SplitTrain], quoteFew(unknown)))
		}
		if len(empty) > 0 {
			ds.Warnings = append(ds.Warnings, fmt.Sprintf("%s: %d of %d classes have no images: %s", root, len(empty),
				len(names), quoteFew(empty)))
		}
		ds.Warnings = append(ds.Warnings, t.warnings(root)...)
		if src.Len() == 0 && len(unknown) > 0 {
			return nil, fmt.Errorf("image folder %s: no images in a class folder of %s (%s); its %s are not classes of %s",
				root, splitDirs[SplitTrain], quoteFew(ds.Classes), quoteFew(unknown), splitDirs[SplitTrain])
		}
		if src.Len() == 0 {
			return nil, fmt.Errorf("image folder %s: no images in any of its %d class folders (extensions %s)", root,
				len(names), extensionList())
		}
		ds.Splits[split] = src
	}
	return ds, nil
}

// extensionList names the image extensions the folder loaders read.
func extensionList() string {
	exts := make([]string, 0, len(imageExtensions))
	for e := range imageExtensions {
		exts = append(exts, e)
	}
	sort.Strings(exts)
	return strings.Join(exts, " ")
}

// LoadImages loads every image under dir (recursively, links followed, sorted by path) as one unlabelled split
// SplitAll (labels -1), for prediction on a user's own pictures. What is left out (hidden, non-image and unreadable
// entries, link loops) is counted in Warnings.
func LoadImages(dir string) (*Dataset, error) {
	t := &folderTally{}
	paths, err := walkImages(dir, t)
	if err != nil {
		return nil, fmt.Errorf("image folder: %w", err)
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("image folder %s has no images (extensions %s)", dir, extensionList())
	}
	src := &FileSource{Paths: paths, Labels: make([]int32, len(paths))}
	for i := range src.Labels {
		src.Labels[i] = -1
	}
	ds := &Dataset{Name: "images:" + dir, Dir: dir, Origin: "folder " + dir, Splits: map[string]Source{SplitAll: src}}
	ds.Warnings = t.warnings(dir)
	return ds, nil
}

// ImageFiles expands a list of images to classify: a folder, or images:FOLDER, stands for every image below it
// (LoadImages: sorted, links followed; what it leaves out is said in warnings, one line per kind), any other entry
// is an image file, kept as it is. A folder without images is an error naming it.
func ImageFiles(list []string) (paths, warnings []string, err error) {
	for _, p := range list {
		dir, named := strings.CutPrefix(p, "images:")
		if !named && !isDir(p) {
			paths = append(paths, p)
			continue
		}
		ds, err := LoadImages(dir)
		if err != nil {
			return nil, nil, err
		}
		paths = append(paths, ds.Splits[SplitAll].(*FileSource).Paths...)
		warnings = append(warnings, ds.Warnings...)
	}
	return paths, warnings, nil
}

func init() {
	// ImageNet-style folder in the cache: NAME/train/CLASS/*.JPEG and NAME/val/CLASS/*.JPEG. The paper's code holds
	// out 1% of ImageNet's training set (train[:99%]) and evaluates on the published validation set.
	register(&Info{
		Name: "imagenet", Title: "ImageNet-style folder (train/ and val/, one sub-folder per class; you download it)",
		Homepage: "https://www.image-net.org/",
		Files: []RemoteFile{{Name: "train", Manual: true,
			URL: "https://www.image-net.org/download.php (ILSVRC2012 train and val, arranged one folder per class)"}},
		Holdout: 0.01,
		load:    LoadFolder,
	})
}
