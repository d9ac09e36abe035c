package nb

import (
	"image"
	"slices"
	"strings"
	"testing"
)

// TestExploreHeadless: outside a notebook the explorer draws the default view once and returns.
func TestExploreHeadless(t *testing.T) {
	t.Setenv(InteractiveEnv, "1") // on only in a notebook: a test is not one
	if Interactive() {
		t.Fatal("Interactive outside a notebook")
	}
	var calls [][]int
	controls := []Control{{Name: "image", Options: []string{"a", "b", "c"}, Value: 2}, {Name: "head", Min: 1, Max: 4, Value: 3}}
	err := Explore(controls, func(v []int) (image.Image, error) {
		calls = append(calls, slices.Clone(v))
		return image.NewRGBA(image.Rect(0, 0, 4, 4)), nil
	})
	if err != nil || len(calls) != 1 || !slices.Equal(calls[0], []int{2, 3}) {
		t.Fatalf("Explore: err %v, render calls %v; want one with [2 3]", err, calls)
	}
	bad := []Control{{Name: "head", Min: 1, Max: 4, Value: 5}}
	err = Explore(bad, func([]int) (image.Image, error) { t.Fatal("rendered a bad control"); return nil, nil })
	if err == nil || !strings.Contains(err.Error(), `"head"`) {
		t.Fatalf("Explore with a value out of range: err = %v", err)
	}
}
