package datasets

import (
	"encoding/binary"
	"testing"
)

// The fuzz targets' seed corpora run with every `go test`; `go test -fuzz FuzzIDX ./datasets` explores further.

func FuzzIDX(f *testing.F) {
	f.Add(idxBytes([]int{2, 2, 2}, []byte{1, 2, 3, 4, 5, 6, 7, 8}))
	f.Add(idxBytes([]int{3}, []byte{0, 9, 2}))
	f.Add(idxBytes([]int{1 << 20, 1 << 20}, nil))
	f.Add([]byte{0, 0, 8, 255, 0, 0, 0, 1})
	f.Add([]byte{0, 0, 8})
	f.Fuzz(func(t *testing.T, data []byte) {
		x, err := ParseIDX(data, "fuzz")
		if err != nil {
			return
		}
		size := 1
		for _, d := range x.Dims {
			size *= d
		}
		if size != len(x.Data) {
			t.Fatalf("dims %v but %d values", x.Dims, len(x.Data))
		}
	})
}

func FuzzCIFAR(f *testing.F) {
	f.Add(cifarRecords(2, func(r int) []byte { return []byte{byte(r)} }), 1, 0)
	f.Add(cifarRecords(1, func(r int) []byte { return []byte{3, 77} }), 2, 1)
	f.Add([]byte{1, 2, 3}, 1, 0)
	f.Add([]byte{}, 2, 3)
	f.Fuzz(func(t *testing.T, data []byte, labelBytes, labelIndex int) {
		a, err := ParseCIFAR(data, "fuzz", labelBytes%4, labelIndex%4, 100, 0)
		if err != nil {
			return
		}
		for i := range a.Len() {
			if p, err := a.Load(i); err != nil || len(p.Pix) != cifarPixels || a.Label(i) >= 100 {
				t.Fatalf("record %d: %v", i, err)
			}
		}
	})
}

func FuzzMAT(f *testing.F) {
	le, be := binary.LittleEndian, binary.BigEndian
	f.Add(matFile(le, false, matVar{name: "labels", class: 6, dims: []int32{1, 3}, typ: miUINT8, data: u8(1, 2, 3)}))
	f.Add(matFile(le, true, matVar{name: "trnid", class: 6, dims: []int32{1, 2}, typ: miUINT16, data: u16(le, 1, 2)}))
	f.Add(matFile(be, true, matVar{name: "x", class: 6, dims: []int32{2, 2}, typ: miUINT16, data: u16(be, 1, 2, 3, 4)}))
	f.Add(matFile(le, false, matVar{name: "s", class: 4, dims: []int32{1, 1}, typ: miUINT16, data: u16(le, 65)}))
	f.Add(make([]byte, 130))
	f.Fuzz(func(t *testing.T, data []byte) {
		vars, err := ParseMAT(data, "fuzz")
		if err != nil {
			return
		}
		for name, v := range vars {
			n := 1
			for _, d := range v.Dims {
				n *= d
			}
			if n != len(v.Values) {
				t.Fatalf("%s: dims %v, %d values", name, v.Dims, len(v.Values))
			}
		}
	})
}

// FuzzMATFiles starts from .mat files written by scipy.
func FuzzMATFiles(f *testing.F) {
	for _, name := range []string{"scipy_setid.mat", "scipy_labels.mat"} {
		f.Add(readTestdata(f, name))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = ParseMAT(data, "fuzz")
	})
}
