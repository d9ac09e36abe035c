package datasets

import (
	"fmt"
	"image"
	"strings"
	"testing"

	"github.com/vitnb/vitnb/datasets/datasetstest"
)

// TestNilArguments: the package's functions and methods given nil (a nil *Dataset, *Info, Source, reader, writer,
// image or pixels) return an error, or an empty result where they return no error, instead of panicking
// (issue 24, item 5).
func TestNilArguments(t *testing.T) {
	var ds *Dataset
	var info *Info
	real := &Dataset{Name: "x", Splits: map[string]Source{}}
	for _, tc := range []struct {
		name string
		f    func() error
	}{
		{"(*Dataset)(nil).Pipeline", func() error { _, err := ds.Pipeline(SplitTrain, Config{}); return err }},
		{"(*Dataset)(nil).Split", func() error { _, err := ds.Split(SplitTrain); return err }},
		{"(*Dataset)(nil).Describe", func() error { return ds.Describe(&strings.Builder{}) }},
		{"(*Dataset)(nil).Sample", func() error { _, _, err := ds.Sample(SplitTrain, 1, 8, false, 0, nil); return err }},
		{"Describe(nil writer)", func() error { return real.Describe(nil) }},
		{"WriteList(nil)", func() error { return WriteList(nil, t.TempDir()) }},
		{"Verify(nil)", func() error { _, err := Verify(nil, t.TempDir()); return err }},
		{"(*Info)(nil).Locate", func() error { _, _, err := info.Locate(t.TempDir()); return err }},
		{"DecodeImage(nil reader)", func() error { _, err := DecodeImage(nil, "x.png"); return err }},
		{"InputPixels(nil)", func() error {
			_, err := ReferencePreprocessing(8, 3).InputPixels(nil, 3)
			return err
		}},
		{"InputPixels(ToRGB(nil))", func() error {
			_, err := ReferencePreprocessing(8, 3).InputPixels(ToRGB(nil), 3)
			return err
		}},
		{"InputPixels(ToRGB((*image.RGBA)(nil)))", func() error {
			_, err := ReferencePreprocessing(8, 3).InputPixels(ToRGB((*image.RGBA)(nil)), 3)
			return err
		}},
	} {
		if err := datasetstest.NoPanic(t, tc.name, tc.f); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
	if err := datasetstest.NoPanic(t, "(*Dataset)(nil).SplitNames", func() error {
		if names := ds.SplitNames(); len(names) != 0 {
			return fmt.Errorf("%v", names)
		}
		return nil
	}); err != nil {
		t.Errorf("(*Dataset)(nil).SplitNames: %v", err)
	}
	if err := datasetstest.NoPanic(t, "Holdout(nil)", func() error {
		tr, val := Holdout(nil, 0.1)
		if tr.Len() != 0 || val.Len() != 0 {
			return fmt.Errorf("%d and %d examples", tr.Len(), val.Len())
		}
		return nil
	}); err != nil {
		t.Errorf("Holdout(nil): %v", err)
	}
	if err := datasetstest.NoPanic(t, "RandomSubset(nil)", func() error {
		if s := RandomSubset(nil, 3, 1); s.Len() != 0 {
			return fmt.Errorf("%d examples", s.Len())
		}
		return nil
	}); err != nil {
		t.Errorf("RandomSubset(nil): %v", err)
	}
}
