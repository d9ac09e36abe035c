package classifier

import (
	"fmt"
	"os"

	"github.com/vitnb/vitnb/vitnb/weights"
)

// resolveWeights returns the local file of a checkpoint name: a path, or a catalog name already downloaded.
func resolveWeights(name string) (string, error) {
	if _, err := os.Stat(name); err == nil {
		return name, nil
	}
	k, err := weights.Lookup(name)
	if err != nil {
		return "", fmt.Errorf("weights %q: no such file, and %w", name, err)
	}
	dir, err := weights.CacheDir()
	if err != nil {
		return "", err
	}
	path := k.WeightsFile(weights.CheckpointDir(dir, k.Name))
	if _, err := os.Stat(path); err != nil {
		return "", fmt.Errorf("weights %s are not downloaded: run `vit weights get %s`", k.Name, k.Name)
	}
	return path, nil
}
