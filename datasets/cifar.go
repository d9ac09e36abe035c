package datasets

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// CIFAR binary format (https://www.cs.toronto.edu/~kriz/cifar.html, "Binary version"): records of labelBytes label
// bytes (1 for CIFAR-10; 2 for CIFAR-100: coarse then fine) followed by 3072 pixel bytes, the 1024 red values of
// the 32x32 image row by row, then green, then blue.
const (
	cifarSide   = 32
	cifarPixels = cifarSide * cifarSide * 3
)

// cifarCounts are the published record counts: 10000 per CIFAR-10 file, 50000/10000 in CIFAR-100's train.bin and
// test.bin. A variable so that tests can use small files.
var cifarCounts = struct{ perBatch10, train100, test100 int }{10000, 50000, 10000}

// CIFAR-10/100 class names, in label order, from batches.meta.txt, coarse_label_names.txt and
// fine_label_names.txt of the published archives.
var (
	cifar10Classes = []string{"airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
		"truck"}
	cifar100CoarseClasses = []string{"aquatic_mammals", "fish", "flowers", "food_containers",
		"fruit_and_vegetables", "household_electrical_devices", "household_furniture", "insects", "large_carnivores",
		"large_man-made_outdoor_things", "large_natural_outdoor_scenes", "large_omnivores_and_herbivores",
		"medium_mammals", "non-insect_invertebrates", "people", "reptiles", "small_mammals", "trees", "vehicles_1",
		"vehicles_2"}
	cifar100FineClasses = []string{"apple", "aquarium_fish", "baby", "bear", "beaver", "bed", "bee", "beetle",
		"bicycle", "bottle", "bowl", "boy", "bridge", "bus", "butterfly", "camel", "can", "castle", "caterpillar",
		"cattle", "chair", "chimpanzee", "clock", "cloud", "cockroach", "couch", "crab", "crocodile", "cup",
		"dinosaur", "dolphin", "elephant", "flatfish", "forest", "fox", "girl", "hamster", "house", "kangaroo",
		"keyboard", "lamp", "lawn_mower", "leopard", "lion", "lizard", "lobster", "man", "maple_tree", "motorcycle",
		"mountain", "mouse", "mushroom", "oak_tree", "orange", "orchid", "otter", "palm_tree", "pear", "pickup_truck",
		"pine_tree", "plain", "plate", "poppy", "porcupine", "possum", "rabbit", "raccoon", "ray", "road", "rocket",
		"rose", "sea", "seal", "shark", "shrew", "skunk", "skyscraper", "snail", "snake", "spider", "squirrel",
		"streetcar", "sunflower", "sweet_pepper", "table", "tank", "telephone", "television", "tiger", "tractor",
		"train", "trout", "tulip", "turtle", "wardrobe", "whale", "willow_tree", "wolf", "woman", "worm"}
)

// ParseCIFAR parses CIFAR binary records into an ArraySource of 32x32 RGB images (converted from the planar layout to
// HWC). labelBytes is 1 (CIFAR-10) or 2 (CIFAR-100), labelIndex picks which label byte is the class (CIFAR-100: 0
// coarse, 1 fine), numClasses bounds the labels, and want (if > 0) is the number of records the file must hold.
// Errors name the file and record.
func ParseCIFAR(data []byte, name string, labelBytes, labelIndex, numClasses, want int) (*ArraySource, error) {
	if labelBytes < 1 || labelIndex < 0 || labelIndex >= labelBytes {
		return nil, fmt.Errorf("%s: bad CIFAR parameters: label byte %d of %d", name, labelIndex, labelBytes)
	}
	recLen := labelBytes + cifarPixels
	n := len(data) / recLen
	if rest := len(data) % recLen; rest != 0 {
		return nil, fmt.Errorf("%s: truncated CIFAR record %d: %d bytes of %d (file size %d is not a multiple of "+
			"the %d-byte record)", name, n, rest, recLen, len(data), recLen)
	}
	if n == 0 {
		return nil, fmt.Errorf("%s: no CIFAR records (empty file)", name)
	}
	if want > 0 && n != want {
		return nil, fmt.Errorf("%s: %d CIFAR records, want %d", name, n, want)
	}
	src := &ArraySource{Height: cifarSide, Width: cifarSide, Channels: 3, Origin: name,
		Pix: make([]uint8, n*cifarPixels), Labels: make([]int32, n)}
	const plane = cifarSide * cifarSide
	for r := range n {
		rec := data[r*recLen : (r+1)*recLen]
		label := int(rec[labelIndex])
		if label >= numClasses {
			return nil, fmt.Errorf("%s: record %d has label %d, want 0..%d", name, r, label, numClasses-1)
		}
		src.Labels[r] = int32(label)
		pix := rec[labelBytes:]
		dst := src.Pix[r*cifarPixels : (r+1)*cifarPixels]
		for i := range plane {
			dst[3*i] = pix[i]
			dst[3*i+1] = pix[plane+i]
			dst[3*i+2] = pix[2*plane+i]
		}
	}
	return src, nil
}

// concatArrays joins array sources of the same image size.
func concatArrays(parts []*ArraySource, origin string) *ArraySource {
	out := &ArraySource{Height: parts[0].Height, Width: parts[0].Width, Channels: parts[0].Channels, Origin: origin}
	for _, p := range parts {
		out.Pix = append(out.Pix, p.Pix...)
		out.Labels = append(out.Labels, p.Labels...)
	}
	return out
}

// cifarFiles returns the member files of a CIFAR data set: from the extracted folder sub under dir when present,
// else from the archive tarName under dir (read in memory, without extracting). A file must hold counts[name]
// records of recLen bytes (the published counts): a file of another size is refused before it is read.
func cifarFiles(dir, sub, tarName string, names []string, recLen int, counts map[string]int) (map[string][]byte, string, error) {
	folder := filepath.Join(dir, sub)
	if st, err := os.Stat(folder); err == nil && st.IsDir() {
		out := map[string][]byte{}
		for _, n := range names {
			path := filepath.Join(folder, n)
			if st, err := os.Stat(path); err == nil && st.Size() != int64(counts[n])*int64(recLen) {
				return nil, "", fmt.Errorf("%s: %d bytes, want %d (the published file: %d records of %d bytes)",
					path, st.Size(), int64(counts[n])*int64(recLen), counts[n], recLen)
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return nil, "", fmt.Errorf("missing split file: %w", err)
			}
			out[n] = b
		}
		return out, folder, nil
	}
	archive := filepath.Join(dir, tarName)
	want := map[string]bool{}
	for _, n := range names {
		want[sub+"/"+n] = true
	}
	members, err := readTarMembers(archive, func(name string) bool { return want[strings.TrimPrefix(name, "./")] })
	if err != nil {
		return nil, "", err
	}
	out := map[string][]byte{}
	for _, n := range names {
		b, ok := members[sub+"/"+n]
		if !ok {
			return nil, "", fmt.Errorf("%s: missing split file %s/%s in the archive", archive, sub, n)
		}
		out[n] = b
	}
	return out, archive, nil
}

// loadCIFAR10 reads CIFAR-10 from dir (cifar-10-batches-bin/ or cifar-10-binary.tar.gz).
func loadCIFAR10(dir string) (train, test *ArraySource, origin string, err error) {
	names := []string{"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin",
		"data_batch_5.bin", "test_batch.bin"}
	counts := map[string]int{}
	for _, n := range names {
		counts[n] = cifarCounts.perBatch10
	}
	files, origin, err := cifarFiles(dir, "cifar-10-batches-bin", "cifar-10-binary.tar.gz", names, 1+cifarPixels, counts)
	if err != nil {
		return nil, nil, "", err
	}
	var parts []*ArraySource
	for _, n := range names {
		a, err := ParseCIFAR(files[n], filepath.Join(origin, n), 1, 0, 10, cifarCounts.perBatch10)
		if err != nil {
			return nil, nil, "", err
		}
		parts = append(parts, a)
	}
	return concatArrays(parts[:5], filepath.Join(origin, "data_batch_{1..5}.bin")), parts[5], origin, nil
}

// loadCIFAR100 reads CIFAR-100 from dir (cifar-100-binary/ or cifar-100-binary.tar.gz) with fine or coarse labels.
func loadCIFAR100(dir string, coarse bool) (train, test *ArraySource, origin string, err error) {
	names := []string{"train.bin", "test.bin"}
	files, origin, err := cifarFiles(dir, "cifar-100-binary", "cifar-100-binary.tar.gz", names, 2+cifarPixels,
		map[string]int{"train.bin": cifarCounts.train100, "test.bin": cifarCounts.test100})
	if err != nil {
		return nil, nil, "", err
	}
	labelIndex, classes := 1, 100
	if coarse {
		labelIndex, classes = 0, 20
	}
	train, err = ParseCIFAR(files["train.bin"], filepath.Join(origin, "train.bin"), 2, labelIndex, classes, cifarCounts.train100)
	if err != nil {
		return nil, nil, "", err
	}
	test, err = ParseCIFAR(files["test.bin"], filepath.Join(origin, "test.bin"), 2, labelIndex, classes, cifarCounts.test100)
	if err != nil {
		return nil, nil, "", err
	}
	return train, test, origin, nil
}

func init() {
	// Checksums: MD5 from the CIFAR page (and torchvision), SHA256 from GoMLX's examples/cifar.
	register(&Info{
		Name: "cifar10", Title: "CIFAR-10 (32x32 RGB, 10 classes)", Homepage: "https://www.cs.toronto.edu/~kriz/cifar.html",
		Files: []RemoteFile{{Name: "cifar-10-binary.tar.gz", URL: "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz",
			MD5:    "c32a1d4ab5d03f1284b67883e8d87530",
			SHA256: "c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd"}},
		Holdout: 0.02,
		load: func(dir string) (*Dataset, error) {
			train, test, origin, err := loadCIFAR10(dir)
			if err != nil {
				return nil, err
			}
			return &Dataset{Classes: cifar10Classes, Origin: origin,
				Splits: map[string]Source{SplitTrain: train, SplitTest: test}}, nil
		},
	})
	for _, coarse := range []bool{false, true} {
		name, title, classes, folder := "cifar100", "CIFAR-100 (32x32 RGB, 100 fine classes)", cifar100FineClasses, ""
		if coarse {
			name, title, classes, folder = "cifar100-coarse", "CIFAR-100 (32x32 RGB, 20 coarse superclasses)",
				cifar100CoarseClasses, "cifar100"
		}
		register(&Info{
			Name: name, Folder: folder, Title: title, Homepage: "https://www.cs.toronto.edu/~kriz/cifar.html",
			Files: []RemoteFile{{Name: "cifar-100-binary.tar.gz",
				URL:    "https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz",
				MD5:    "03b5dce01913d631647c71ecec9e9cb8",
				SHA256: "58a81ae192c23a4be8b1804d68e518ed807d710a4eb253b1f2a199162a40d8ec"}},
			Holdout: 0.02,
			load: func(dir string) (*Dataset, error) {
				train, test, origin, err := loadCIFAR100(dir, coarse)
				if err != nil {
					return nil, err
				}
				return &Dataset{Classes: classes, Origin: origin,
					Splits: map[string]Source{SplitTrain: train, SplitTest: test}}, nil
			},
		})
	}
}
