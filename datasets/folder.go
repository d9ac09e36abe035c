package datasets

import (
	"fmt"
	"io/fs"
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
	return !strings.HasPrefix(base, ".") && imageExtensions[strings.ToLower(filepath.Ext(base))]
}

// listImages returns the image files under dir (recursively, sorted) and the number of other files skipped.
func listImages(dir string) (paths []string, skipped int, err error) {
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("listing %s: %w", p, err)
		}
		if d.IsDir() {
			if p != dir && strings.HasPrefix(d.Name(), ".") {
				return filepath.SkipDir
			}
			return nil
		}
		if IsImageFile(p) {
			paths = append(paths, p)
		} else {
			skipped++
		}
		return nil
	})
	sort.Strings(paths)
	return paths, skipped, err
}

// classFolders returns the sorted names of the sub-folders of dir (torchvision's find_classes).
func classFolders(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("reading class folders: %w", err)
	}
	var names []string
	for _, e := range entries {
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	return names, nil
}

// folderSplits maps the sub-folder names that LoadFolder recognises as splits.
var folderSplits = map[string]string{"train": SplitTrain, "val": SplitVal, "validation": SplitVal, "test": SplitTest}

// LoadFolder loads an ImageNet-style folder: one sub-folder per class (class names are the sorted folder names, as in
// torchvision's ImageFolder), images anywhere below. If dir has a train/ sub-folder, each of train/, val/ (or
// validation/) and test/ is a split with the classes of train/; else dir itself is the train split. Images stream
// from disk. Empty class folders and non-image files are counted in Warnings.
func LoadFolder(dir string) (*Dataset, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("image folder: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("image folder %s is not a folder", dir)
	}
	ds := &Dataset{Name: "folder:" + dir, Dir: dir, Origin: "folder " + dir, Splits: map[string]Source{}}
	splitDirs := map[string]string{}
	if exists(filepath.Join(dir, "train")) {
		for sub, split := range folderSplits {
			if p := filepath.Join(dir, sub); exists(p) {
				splitDirs[split] = p
			}
		}
	} else {
		splitDirs[SplitTrain] = dir
	}
	ds.Classes, err = classFolders(splitDirs[SplitTrain])
	if err != nil {
		return nil, err
	}
	if len(ds.Classes) == 0 {
		return nil, fmt.Errorf("image folder %s has no class sub-folders (want one folder of images per class)",
			splitDirs[SplitTrain])
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
		names, err := classFolders(root)
		if err != nil {
			return nil, err
		}
		src := &FileSource{}
		empty, skipped := 0, 0
		for _, c := range names {
			label, ok := classIndex[c]
			if !ok {
				ds.Warnings = append(ds.Warnings, fmt.Sprintf("%s: class folder %q is not in %s, skipped",
					root, c, splitDirs[SplitTrain]))
				continue
			}
			paths, other, err := listImages(filepath.Join(root, c))
			if err != nil {
				return nil, err
			}
			skipped += other
			if len(paths) == 0 {
				empty++
				ds.Warnings = append(ds.Warnings, fmt.Sprintf("class folder %s has no images",
					filepath.Join(root, c)))
			}
			for _, p := range paths {
				src.Paths = append(src.Paths, p)
				src.Labels = append(src.Labels, label)
			}
		}
		if skipped > 0 {
			ds.Warnings = append(ds.Warnings, fmt.Sprintf("%s: %d files without an image extension skipped",
				root, skipped))
		}
		if src.Len() == 0 {
			return nil, fmt.Errorf("image folder %s: no images in any class folder", root)
		}
		ds.Splits[split] = src
	}
	return ds, nil
}

// LoadImages loads every image under dir (recursively, sorted by path) as one unlabelled split SplitAll (labels
// -1), for prediction on a user's own pictures. Files without an image extension are counted in Warnings.
func LoadImages(dir string) (*Dataset, error) {
	paths, skipped, err := listImages(dir)
	if err != nil {
		return nil, fmt.Errorf("image folder: %w", err)
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("image folder %s has no images (extensions .jpg .jpeg .png .bmp .tif .tiff .webp .gif)",
			dir)
	}
	src := &FileSource{Paths: paths, Labels: make([]int32, len(paths))}
	for i := range src.Labels {
		src.Labels[i] = -1
	}
	ds := &Dataset{Name: "images:" + dir, Dir: dir, Origin: "folder " + dir, Splits: map[string]Source{SplitAll: src}}
	if skipped > 0 {
		ds.Warnings = append(ds.Warnings, fmt.Sprintf("%s: %d files without an image extension skipped", dir, skipped))
	}
	return ds, nil
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
