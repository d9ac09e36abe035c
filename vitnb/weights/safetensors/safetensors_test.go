package safetensors

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gomlx/compute/dtypes"
)

// writeRaw writes a safetensors file from a literal header and data.
func writeRaw(t *testing.T, header string, data []byte) string {
	t.Helper()
	var buf bytes.Buffer
	_ = binary.Write(&buf, binary.LittleEndian, uint64(len(header)))
	buf.WriteString(header)
	buf.Write(data)
	path := filepath.Join(t.TempDir(), "x.safetensors")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rt.safetensors")
	a := []float32{1, 2, 3, 4, 5, 6}
	b := []float32{-1.5}
	err := WriteFile(path, []Tensor{Float32Tensor("b/scalar", b), Float32Tensor("a", a, 2, 3)}, map[string]string{"format": "pt"})
	if err != nil {
		t.Fatal(err)
	}
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	if got := strings.Join(f.Names(), ","); got != "a,b/scalar" {
		t.Errorf("names %s", got)
	}
	if f.Metadata["format"] != "pt" {
		t.Errorf("metadata %v", f.Metadata)
	}
	got, shape, err := f.ReadFloat32("a")
	if err != nil || len(shape) != 2 || shape[0] != 2 || shape[1] != 3 || got[5] != 6 {
		t.Errorf("a = %v %v %v", got, shape, err)
	}
	got, shape, err = f.ReadFloat32("b/scalar")
	if err != nil || len(shape) != 0 || got[0] != -1.5 {
		t.Errorf("b = %v %v %v", got, shape, err)
	}
}

func TestHalfTypes(t *testing.T) {
	// 1.0 and -2.0 in F16 (0x3C00, 0xC000) and BF16 (0x3F80, 0xC000).
	path := writeRaw(t, `{"h":{"dtype":"F16","shape":[2],"data_offsets":[0,4]},"b":{"dtype":"BF16","shape":[2],"data_offsets":[4,8]}}`,
		[]byte{0x00, 0x3C, 0x00, 0xC0, 0x80, 0x3F, 0x00, 0xC0})
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	for _, name := range []string{"h", "b"} {
		v, _, err := f.ReadFloat32(name)
		if err != nil || v[0] != 1 || v[1] != -2 {
			t.Errorf("%s: %v %v", name, v, err)
		}
	}
}

func TestBadFiles(t *testing.T) {
	data8 := make([]byte, 8)
	for _, tc := range []struct {
		name, header string
		data         []byte
		want         string
	}{
		{"truncated data", `{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}`, data8, `truncated file: tensor "w"`},
		{"size lie", `{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}`, data8, `tensor "w": data_offsets [0, 8] hold 8 bytes, but F32[3] needs 12`},
		{"overlap", `{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, data8, "overlaps"},
		{"unknown dtype", `{"w":{"dtype":"F8_E4M3","shape":[8],"data_offsets":[0,8]}}`, data8, `tensor "w": unsupported dtype "F8_E4M3"`},
		{"negative offset", `{"w":{"dtype":"U8","shape":[8],"data_offsets":[-8,0]}}`, data8, "bad data_offsets"},
		{"negative dim", `{"w":{"dtype":"U8","shape":[-8],"data_offsets":[0,8]}}`, data8, "bad dimension"},
		{"missing field", `{"w":{"dtype":"U8","shape":[8]}}`, data8, "needs dtype, shape and data_offsets"},
		{"duplicate", `{"w":{"dtype":"U8","shape":[8],"data_offsets":[0,8]},"w":{"dtype":"U8","shape":[8],"data_offsets":[0,8]}}`, data8, "appears twice"},
		{"not json", `hello`, data8, "not a JSON object"},
		{"bad metadata", `{"__metadata__":{"a":1}}`, nil, "__metadata__"},
	} {
		path := writeRaw(t, tc.header, tc.data)
		_, err := Open(path)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), path) {
			t.Errorf("%s: got error %v, want one naming the file and containing %q", tc.name, err, tc.want)
		}
	}
	// A header length beyond the file.
	path := filepath.Join(t.TempDir(), "short.safetensors")
	_ = os.WriteFile(path, []byte{200, 0, 0, 0, 0, 0, 0, 0, '{', '}'}, 0o644)
	if _, err := Open(path); err == nil || !strings.Contains(err.Error(), "truncated") {
		t.Errorf("header past the end: %v", err)
	}
	_ = os.WriteFile(path, []byte{1, 2, 3}, 0o644)
	if _, err := Open(path); err == nil || !strings.Contains(err.Error(), "too short") {
		t.Errorf("3-byte file: %v", err)
	}
}

func TestDTypeNames(t *testing.T) {
	for name, dt := range dtypeNames {
		back, err := NameOfDType(dt)
		if err != nil || back != name {
			t.Errorf("%s -> %s -> %s %v", name, dt, back, err)
		}
	}
	if _, err := NameOfDType(dtypes.Complex64); err == nil {
		t.Error("complex64 should have no safetensors name")
	}
}

// FuzzParseHeader checks that ParseHeader never panics and that what it accepts is consistent: every byte
// range matches its shape and lies inside the data section. Run with `go test -fuzz FuzzParseHeader`.
func FuzzParseHeader(f *testing.F) {
	for _, seed := range []string{
		`{"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}}`,
		`{"__metadata__":{"format":"pt"},"a":{"dtype":"BF16","shape":[],"data_offsets":[0,2]}}`,
		`{"a":{"dtype":"F16","shape":[0],"data_offsets":[0,0]},"b":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}}`,
		`{"w":{"dtype":"F32","shape":[9223372036854775807,2],"data_offsets":[0,16]}}`,
		`{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}    `,
		`{"w":{"dtype":"F32","shape":[4],"data_offsets":[18446744073709551615,16]}}`,
		`{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16],"extra":1}}`,
		`{"w":[1,2,3]}`, `{}`, `{"a":1}`, `[]`, ``, `{`, `{"a":{"dtype":null}}`,
	} {
		f.Add([]byte(seed), int64(16))
	}
	f.Fuzz(func(t *testing.T, header []byte, dataSize int64) {
		h, err := ParseHeader(header, dataSize)
		if err != nil {
			return
		}
		for name, info := range h.Tensors {
			if info.Begin < 0 || info.End < info.Begin || (dataSize >= 0 && info.End > dataSize) {
				t.Fatalf("accepted bad range for %q: %+v (data %d)", name, info, dataSize)
			}
			if int64(info.Size())*int64(info.DType.Size()) != info.End-info.Begin {
				t.Fatalf("accepted size mismatch for %q: %+v", name, info)
			}
		}
	})
}
