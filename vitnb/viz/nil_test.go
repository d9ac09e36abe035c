package viz

import (
	"strings"
	"testing"
)

// TestHeatMapSizedFirst: a heat map whose scaled picture would pass files.MaxPicturePixels, or of negative sizes,
// is an error before anything is drawn (a huge scale allocated the picture; issue 24, item 5).
func TestHeatMapSizedFirst(t *testing.T) {
	if _, err := HeatMap(make([]float64, 4), 2, 2, 1<<20, 0, 1); err == nil || !strings.Contains(err.Error(), "scale") {
		t.Errorf("a 2x2 heat map at scale 2^20: %v", err)
	}
	if _, err := HeatMap(make([]float64, 6), -2, -3, 1, 0, 1); err == nil || !strings.Contains(err.Error(), "negative") {
		t.Errorf("a -2x-3 heat map: %v", err)
	}
	img, err := HeatMap([]float64{0, 1, 2, 3}, 2, 2, 3, 0, 0)
	if err != nil || img.Bounds().Dx() != 6 || img.Bounds().Dy() != 6 {
		t.Errorf("a 2x2 heat map at scale 3: %v, %v", img.Bounds(), err)
	}
}
