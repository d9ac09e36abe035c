package safetensors

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
)

// FuzzOpen feeds arbitrary files to Open and reads every tensor it lists: an error or data of the size the header
// gives, never a panic, and never a read beyond the file. Seeds: a small valid file, its cut versions and
// headers that lie about lengths.
func FuzzOpen(f *testing.F) {
	var good bytes.Buffer
	if err := Write(&good, []Tensor{Float32Tensor("w", []float32{1, 2, 3, 4}, 2, 2),
		Float32Tensor("b", []float32{5}, 1)}, map[string]string{"format": "pt"}); err != nil {
		f.Fatal(err)
	}
	f.Add(good.Bytes())
	f.Add(good.Bytes()[:good.Len()-3])
	f.Add(good.Bytes()[:12])
	lie := binary.LittleEndian.AppendUint64(nil, 1<<40)
	f.Add(append(lie, `{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`...))
	f.Add(binary.LittleEndian.AppendUint64(nil, 2))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, "fuzz.safetensors")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		sf, err := Open(path)
		if err != nil {
			return
		}
		defer sf.Close()
		for _, name := range sf.Header.Names() {
			info, _ := sf.Info(name)
			if info.End > int64(len(data)) {
				t.Fatalf("%s: range %d..%d beyond the %d-byte file", name, info.Begin, info.End, len(data))
			}
			values, shape, err := sf.ReadFloat32(name)
			if err != nil {
				continue
			}
			n := 1
			for _, d := range shape {
				n *= d
			}
			if len(values) != n {
				t.Fatalf("%s: shape %v, %d values", name, shape, len(values))
			}
		}
	})
}
