package weights

import (
	"strings"
	"testing"

	"github.com/vitnb/vitnb/datasets/datasetstest"
	"github.com/vitnb/vitnb/vitnb"
)

// TestLoadChecksMemory: resampling the position embeddings of a checkpoint to an image size whose parameters do
// not fit in the machine's memory (patch 4 at 65,536 pixels: 16384² tokens of width 24, 25.8 GB) is refused
// before the resampling allocates them, in one line.
func TestLoadChecksMemory(t *testing.T) {
	const need = 25.7e9
	if avail, _, err := vitnb.AvailableMemory(); err != nil || float64(avail) > need {
		t.Skipf("the machine's available memory (%d, %v) is unknown or holds the resampled model", avail, err)
	}
	var err error
	if n := datasetstest.Allocated(func() {
		_, _, err = Load("testdata/timm.safetensors", Options{Heads: 3, ImageSize: vitnb.MaxImageSize})
	}); n > 100<<20 {
		t.Errorf("%d bytes allocated before the refusal", n)
	}
	if err == nil || !strings.Contains(err.Error(), "parameters take about") || strings.Contains(err.Error(), "\n") ||
		!strings.Contains(err.Error(), "timm.safetensors") {
		t.Errorf("Load at %d pixels: %v, want one line naming the file and the parameters' memory", vitnb.MaxImageSize, err)
	}
}
