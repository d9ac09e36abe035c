package classifier

import (
	"context"
	"os"

	"github.com/vitnb/vitnb/vitnb/weights"
)

// resolveWeights returns the local file of a checkpoint name (weights.Resolve: a path, a catalog name or
// hf:ORG/NAME, found in the caches or downloaded, with progress on stderr).
func resolveWeights(name string) (string, error) {
	return weights.Resolve(context.Background(), name, weights.ResolveOptions{Progress: os.Stderr})
}
