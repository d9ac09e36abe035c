package datasets

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unicode"
)

// petsClasses is the number of breeds of Oxford-IIIT Pets (https://www.robots.ox.ac.uk/~vgg/data/pets/).
const petsClasses = 37

// ensureExtracted extracts archive (in dir) when the folder it extracts to is missing.
func ensureExtracted(dir, archive string) error {
	if exists(filepath.Join(dir, extractedName(archive))) {
		return nil
	}
	path := filepath.Join(dir, archive)
	if !exists(path) {
		return fmt.Errorf("%w: neither %s nor the folder %s", ErrNotFound, path,
			filepath.Join(dir, extractedName(archive)))
	}
	if err := extractTar(path, dir); err != nil {
		return err
	}
	if !exists(filepath.Join(dir, extractedName(archive))) {
		return fmt.Errorf("%s: the archive has no %s/ folder", path, extractedName(archive))
	}
	return nil
}

// petsBreedName turns the file name prefix of a breed ("american_bulldog") into its class name ("American
// Bulldog"), as torchvision.datasets.OxfordIIITPet does.
func petsBreedName(image string) string {
	raw := image
	if i := strings.LastIndexByte(image, '_'); i > 0 {
		raw = image[:i]
	}
	parts := strings.Split(raw, "_")
	for i, p := range parts {
		if p != "" {
			r := []rune(strings.ToLower(p))
			r[0] = unicode.ToUpper(r[0])
			parts[i] = string(r)
		}
	}
	return strings.Join(parts, " ")
}

// parsePetsList parses annotations/trainval.txt or test.txt: lines "Image CLASS-ID SPECIES BREED-ID" with CLASS-ID in
// 1..37, "#" comments. It fills names[class] from the image names.
func parsePetsList(path string, names []string) (images []string, labels []int32, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("missing split file: %w", err)
	}
	defer func() { _ = f.Close() }()
	sc := bufio.NewScanner(f)
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		fields := strings.Fields(text)
		if len(fields) < 2 {
			return nil, nil, fmt.Errorf("%s:%d: want \"IMAGE CLASS-ID SPECIES BREED-ID\", got %q", path, line, text)
		}
		id, err := strconv.Atoi(fields[1])
		if err != nil || id < 1 || id > petsClasses {
			return nil, nil, fmt.Errorf("%s:%d: class id %q, want 1..%d", path, line, fields[1], petsClasses)
		}
		if strings.ContainsAny(fields[0], `/\`) {
			return nil, nil, fmt.Errorf("%s:%d: bad image name %q", path, line, fields[0])
		}
		images = append(images, fields[0])
		labels = append(labels, int32(id-1))
		if names[id-1] == "" {
			names[id-1] = petsBreedName(fields[0])
		}
	}
	if err := sc.Err(); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(images) == 0 {
		return nil, nil, fmt.Errorf("%s: no images listed", path)
	}
	return images, labels, nil
}

// loadPets reads Oxford-IIIT Pets from dir: images/ and annotations/ (extracted from images.tar.gz and
// annotations.tar.gz if needed), splits from annotations/trainval.txt and test.txt as published.
func loadPets(dir string) (*Dataset, error) {
	for _, a := range []string{"images.tar.gz", "annotations.tar.gz"} {
		if err := ensureExtracted(dir, a); err != nil {
			return nil, err
		}
	}
	ds := &Dataset{Classes: make([]string, petsClasses), Splits: map[string]Source{}}
	for split, file := range map[string]string{SplitTrain: "trainval.txt", SplitTest: "test.txt"} {
		listPath := filepath.Join(dir, "annotations", file)
		images, labels, err := parsePetsList(listPath, ds.Classes)
		if err != nil {
			return nil, err
		}
		src := &FileSource{}
		missing := 0
		for i, name := range images {
			p := filepath.Join(dir, "images", name+".jpg")
			if !exists(p) {
				missing++
				continue
			}
			src.Paths = append(src.Paths, p)
			src.Labels = append(src.Labels, labels[i])
		}
		if missing > 0 {
			ds.Warnings = append(ds.Warnings, fmt.Sprintf("%s: %d listed images missing from %s, skipped",
				listPath, missing, filepath.Join(dir, "images")))
		}
		ds.Splits[split] = src
	}
	for i, n := range ds.Classes {
		if n == "" {
			ds.Classes[i] = fmt.Sprintf("class %d", i+1)
		}
	}
	return ds, nil
}

func init() {
	// URLs and MD5s from torchvision.datasets.OxfordIIITPet; the paper holds out 10% of trainval (Appendix B.1.1).
	register(&Info{
		Name: "pets", Title: "Oxford-IIIT Pets (RGB photos, 37 breeds; trainval/test as published)",
		Homepage: "https://www.robots.ox.ac.uk/~vgg/data/pets/",
		Files: []RemoteFile{
			{Name: "images.tar.gz", URL: "https://www.robots.ox.ac.uk/~vgg/data/pets/data/images.tar.gz",
				MD5: "5c4f3ee8e5d25df40f4fd59a7f44e54c"},
			{Name: "annotations.tar.gz", URL: "https://www.robots.ox.ac.uk/~vgg/data/pets/data/annotations.tar.gz",
				MD5: "95a8c909bbe2e81eed6a22bccdf3f68f"},
		},
		Holdout: 0.10,
		load:    loadPets,
	})
}
