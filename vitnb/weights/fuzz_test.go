package weights

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoad feeds arbitrary bytes to Load as a weights file: it must return an error or a store, never panic.
// Seeds are the starts of the fixtures (small seeds keep the fuzzer fast); the whole
// fixtures are loaded by the other tests.
func FuzzLoad(f *testing.F) {
	for _, name := range []string{"testdata/timm.safetensors", "testdata/google.npz"} {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data[:200])
		f.Add(data[:2000])
	}
	f.Add([]byte("\x10\x00\x00\x00\x00\x00\x00\x00{}              "))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, "fuzz.bin")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		store, _, err := Load(path, Options{Heads: 3})
		if err == nil {
			store.Finalize()
		}
	})
}
