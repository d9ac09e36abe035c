package datasets

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"path/filepath"
)

// flowersClasses is the number of classes of Oxford Flowers-102 (https://www.robots.ox.ac.uk/~vgg/data/flowers/102/).
const flowersClasses = 102

// flowersNames are the class names in label order, as in GoMLX's examples/oxfordflowers102 and TFDS
// (the data set itself ships only numbers).
var flowersNames = []string{"pink primrose", "hard-leaved pocket orchid", "canterbury bells", "sweet pea",
	"english marigold", "tiger lily", "moon orchid", "bird of paradise", "monkshood", "globe thistle", "snapdragon",
	"colt's foot", "king protea", "spear thistle", "yellow iris", "globe-flower", "purple coneflower", "peruvian lily",
	"balloon flower", "giant white arum lily", "fire lily", "pincushion flower", "fritillary", "red ginger",
	"grape hyacinth", "corn poppy", "prince of wales feathers", "stemless gentian", "artichoke", "sweet william",
	"carnation", "garden phlox", "love in the mist", "mexican aster", "alpine sea holly", "ruby-lipped cattleya",
	"cape flower", "great masterwort", "siam tulip", "lenten rose", "barbeton daisy", "daffodil", "sword lily",
	"poinsettia", "bolero deep blue", "wallflower", "marigold", "buttercup", "oxeye daisy", "common dandelion",
	"petunia", "wild pansy", "primula", "sunflower", "pelargonium", "bishop of llandaff", "gaura", "geranium",
	"orange dahlia", "pink-yellow dahlia?", "cautleya spicata", "japanese anemone", "black-eyed susan", "silverbush",
	"californian poppy", "osteospermum", "spring crocus", "bearded iris", "windflower", "tree poppy", "gazania",
	"azalea", "water lily", "rose", "thorn apple", "morning glory", "passion flower", "lotus", "toad lily",
	"anthurium", "frangipani", "clematis", "hibiscus", "columbine", "desert-rose", "tree mallow", "magnolia",
	"cyclamen", "watercress", "canna lily", "hippeastrum", "bee balm", "ball moss", "foxglove", "bougainvillea",
	"camellia", "mallow", "mexican petunia", "bromelia", "blanket flower", "trumpet creeper", "blackberry lily"}

// readMatVar reads one numeric variable of a .mat file as positive integers (1-based ids or labels up to maxValue).
func readMatVar(path, name string, maxValue int) ([]int, error) {
	vars, err := ReadMATFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("missing split file: %w", err)
	}
	if err != nil {
		return nil, err
	}
	v, ok := vars[name]
	if !ok {
		return nil, fmt.Errorf("%s: no numeric variable %q", path, name)
	}
	out := make([]int, len(v.Values))
	for i, x := range v.Values {
		if x != math.Trunc(x) || x < 1 || x > float64(maxValue) {
			return nil, fmt.Errorf("%s: %s(%d) = %v, want an integer in 1..%d", path, name, i+1, x, maxValue)
		}
		out[i] = int(x)
	}
	return out, nil
}

// loadFlowers reads Flowers-102 from dir: jpg/ (extracted from 102flowers.tgz if needed), imagelabels.mat (variable
// "labels", 1-based) and setid.mat (trnid, valid, tstid: 1020/1020/6149 1-based image ids), the official split.
func loadFlowers(dir string) (*Dataset, error) {
	if err := ensureExtracted(dir, "102flowers.tgz"); err != nil {
		return nil, err
	}
	labels, err := readMatVar(filepath.Join(dir, "imagelabels.mat"), "labels", flowersClasses)
	if err != nil {
		return nil, err
	}
	ds := &Dataset{Classes: flowersNames, Splits: map[string]Source{}}
	setid := filepath.Join(dir, "setid.mat")
	for split, v := range map[string]string{SplitTrain: "trnid", SplitVal: "valid", SplitTest: "tstid"} {
		ids, err := readMatVar(setid, v, len(labels))
		if err != nil {
			return nil, err
		}
		src := &FileSource{}
		missing := 0
		for _, id := range ids {
			p := filepath.Join(dir, "jpg", fmt.Sprintf("image_%05d.jpg", id))
			if !exists(p) {
				missing++
				continue
			}
			src.Paths = append(src.Paths, p)
			src.Labels = append(src.Labels, int32(labels[id-1]-1))
		}
		if missing > 0 {
			ds.Warnings = append(ds.Warnings, fmt.Sprintf("%s: %d images of %s missing from %s, skipped", setid,
				missing, v, filepath.Join(dir, "jpg")))
		}
		ds.Splits[split] = src
	}
	return ds, nil
}

func init() {
	// URLs and MD5s from torchvision.datasets.Flowers102; SHA256s of the .mat files from GoMLX's
	// examples/oxfordflowers102. The paper holds out 10% of the training split (Appendix B.1.1).
	const base = "https://www.robots.ox.ac.uk/~vgg/data/flowers/102/"
	register(&Info{
		Name: "flowers102", Title: "Oxford Flowers-102 (RGB photos, 102 classes; official train/val/test split)",
		Homepage: "https://www.robots.ox.ac.uk/~vgg/data/flowers/102/",
		Files: []RemoteFile{
			{Name: "102flowers.tgz", URL: base + "102flowers.tgz", MD5: "52808999861908f626f3c1f4e79d11fa"},
			{Name: "imagelabels.mat", URL: base + "imagelabels.mat", MD5: "e0620be6f572b9609742df49c70aed4d",
				SHA256: "4903e94206bac23bf772aadf06451916df56b58fc483a62db32a97b82656651d"},
			{Name: "setid.mat", URL: base + "setid.mat", MD5: "a5357ecc9cb78c4bef273ce3793fc85c",
				SHA256: "46b8678f91fd95d3c8f4feab80d271a6c834a1dd896fe29fd3e6ad9ce5c8dccd"},
		},
		Holdout: 0.10,
		load:    loadFlowers,
	})
}
