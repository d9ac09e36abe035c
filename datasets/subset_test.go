package datasets

import (
	"slices"
	"testing"
)

func TestRandomSubset(t *testing.T) {
	src := &ArraySource{Height: 1, Width: 1, Channels: 1, Pix: make([]uint8, 100), Labels: make([]int32, 100)}
	a, b := RandomSubset(src, 10, 7), RandomSubset(src, 10, 7)
	if a.Len() != 10 || !slices.Equal(a.Index, b.Index) {
		t.Fatalf("the same seed drew %v and %v", a.Index, b.Index)
	}
	if c := RandomSubset(src, 10, 8); slices.Equal(a.Index, c.Index) {
		t.Fatalf("seeds 7 and 8 drew the same %v", a.Index)
	}
	seen := map[int]bool{}
	for _, i := range a.Index {
		if i < 0 || i >= 100 || seen[i] {
			t.Fatalf("index %d out of range or drawn twice: %v", i, a.Index)
		}
		seen[i] = true
	}
	if all := RandomSubset(src, 500, 1); all.Len() != 100 || all.Index[99] != 99 {
		t.Fatalf("asking for more than there are: %d examples", all.Len())
	}
}
