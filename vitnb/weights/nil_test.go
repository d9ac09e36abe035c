package weights

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vitnb/vitnb/datasets/datasetstest"
	"github.com/vitnb/vitnb/vitnb"
)

// TestNilArguments: a nil store or writer is an error naming it, and a nil Loaded describes nothing, instead of a
// panic (issue 24, item 5).
func TestNilArguments(t *testing.T) {
	dir := t.TempDir()
	cfg := vitnb.Config{ImageSize: 8, Channels: 3, PatchSize: 4, Width: 16, Depth: 1, Heads: 2, MLPDim: 32, NumClasses: 2}.WithDefaults()
	var loaded *Loaded
	nothing := errors.New("no error expected: the call writes nothing")
	for name, f := range map[string]func() error{
		"LoadInto(nil store)": func() error {
			_, err := LoadInto(nil, "/", filepath.Join(dir, "w.safetensors"), Options{})
			return err
		},
		"SaveTimm(nil store)": func() error { return SaveTimm(filepath.Join(dir, "out.safetensors"), nil, "/", cfg) },
		"WriteCatalog(nil)":   func() error { return WriteCatalog(nil, dir, false) },
		"(*Loaded)(nil).Describe": func() error {
			var sb strings.Builder
			loaded.Describe(&sb)
			if sb.Len() > 0 {
				return errors.New("wrote " + sb.String())
			}
			return nothing
		},
	} {
		if err := datasetstest.NoPanic(t, name, f); err == nil || err != nothing && !strings.Contains(err.Error(), "nil") {
			t.Errorf("%s: %v, want an error naming what is nil", name, err)
		}
	}
}

// TestLoadEmptyPath: an empty weights path is said as such ("open : no such file or directory" before).
func TestLoadEmptyPath(t *testing.T) {
	if _, _, err := Load("", Options{}); err == nil || err.Error() != "loading weights: no file name (an empty path)" {
		t.Errorf("Load of an empty path: %v", err)
	}
}
