// Package datasetstest writes small data sets in the real formats for tests, as net/http/httptest serves them.
package datasetstest

import (
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// WriteFolder writes an ImageNet-style folder (vit's folder:PATH) with train/ and test/ splits of two classes of
// perClass 8x8 PNGs each: "left" images are bright on the left half, "right" ones on the right, with noise drawn
// from a fixed seed. Grey images unless rgb. It returns the folder.
func WriteFolder(t testing.TB, perClass int, rgb bool) string {
	t.Helper()
	root := t.TempDir()
	rng := rand.New(rand.NewPCG(1, 2))
	for _, split := range []string{"train", "test"} {
		for c, class := range []string{"left", "right"} {
			dir := filepath.Join(root, split, class)
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			for i := range perClass {
				var img image.Image
				grey, colour := image.NewGray(image.Rect(0, 0, 8, 8)), image.NewRGBA(image.Rect(0, 0, 8, 8))
				for y := range 8 {
					for x := range 8 {
						v := 40 + rng.IntN(80)
						if (x < 4) == (c == 0) {
							v += 120
						}
						grey.SetGray(x, y, color.Gray{Y: uint8(v)})
						colour.Set(x, y, color.RGBA{uint8(v), uint8(v / 2), uint8(255 - v), 255})
					}
				}
				img = grey
				if rgb {
					img = colour
				}
				WritePNG(t, filepath.Join(dir, fmt.Sprintf("%03d.png", i)), img)
			}
		}
	}
	return root
}

// WritePNG encodes img as a PNG file at path.
func WritePNG(t testing.TB, path string, img image.Image) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// Allocated returns the bytes that fn allocates on the Go heap (runtime.MemStats.TotalAlloc, after a collection):
// for tests that a size is refused before it is allocated.
func Allocated(fn func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// NoPanic runs f and returns its error; a panic in f fails the test, naming the call (name), and is returned as
// an error: what the tests of "a nil argument is an error, not a panic" check.
func NoPanic(t testing.TB, name string, f func() error) (err error) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Errorf("%s panicked: %v", name, r)
			err = fmt.Errorf("%s panicked: %v", name, r)
		}
	}()
	return f()
}
