package explain

import (
	"math"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/ml/model"
	"github.com/vitnb/vitnb/vitnb"
)

// TestNilArguments: New with a nil store or backend is an error naming it (GoMLX logged a stack trace), and
// RandomMaps of negative sizes is empty instead of a panic (issue 24, item 5).
func TestNilArguments(t *testing.T) {
	cfg := vitnb.Config{ImageSize: 8, Channels: 3, PatchSize: 4, Width: 16, Depth: 1, Heads: 2, MLPDim: 32, NumClasses: 2}.WithDefaults()
	if _, err := New(testBackend(t), nil, cfg); err == nil || !strings.Contains(err.Error(), "nil *model.Store") {
		t.Errorf("New with a nil store: %v", err)
	}
	if _, err := New(nil, model.NewStore(), cfg); err == nil || !strings.Contains(err.Error(), "no backend") {
		t.Errorf("New with a nil backend: %v", err)
	}
	func() {
		defer func() {
			if r := recover(); r != nil {
				t.Errorf("RandomMaps(-1, -2) panicked: %v", r)
			}
		}()
		if maps, err := RandomMaps(-1, -2, 1); err != nil || len(maps) != 0 {
			t.Errorf("RandomMaps(-1, -2) = %v, %v", maps, err)
		}
		if maps, err := RandomMaps(2, -2, 1); err != nil || len(maps) != 2 || len(maps[0]) != 0 {
			t.Errorf("RandomMaps(2, -2) = %v, %v", maps, err)
		}
	}()
}

// TestRandomMapsBounded: huge sizes are an error before anything is allocated (RandomMaps(MaxInt, 2) panicked
// in make, and 100,000 maps of 100,000 patches asked for 80 GB).
func TestRandomMapsBounded(t *testing.T) {
	for _, c := range [][2]int{{math.MaxInt, 2}, {100_000, 100_000}, {2, math.MaxInt}, {math.MaxInt, math.MaxInt}} {
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Errorf("RandomMaps(%d, %d) panicked: %v", c[0], c[1], r)
				}
			}()
			if maps, err := RandomMaps(c[0], c[1], 1); err == nil || !strings.Contains(err.Error(), "random maps: ") || maps != nil {
				t.Errorf("RandomMaps(%d, %d): %d maps, %v", c[0], c[1], len(maps), err)
			}
		}()
	}
}
