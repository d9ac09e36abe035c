package datasets

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vitnb/vitnb/vitnb/files"
)

func TestParseIDX(t *testing.T) {
	good := idxBytes([]int{2, 2, 3}, []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12})
	x, err := ParseIDX(good, "good")
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(x.Dims) != "[2 2 3]" || x.Data[11] != 12 {
		t.Fatalf("got dims %v data %v", x.Dims, x.Data)
	}
	bad := map[string]struct {
		data []byte
		want string
	}{
		"short":     {[]byte{0, 0}, "too short"},
		"magic":     {append([]byte{1, 2}, good[2:]...), "wrong idx magic"},
		"gzip":      {gzipBytes(t, good), "wrong idx magic"},
		"type":      {append([]byte{0, 0, 0x0d, 3}, good[4:]...), "type code 0x0d"},
		"nodims":    {[]byte{0, 0, 8, 0}, "0 dimensions"},
		"header":    {good[:9], "header truncated"},
		"truncated": {good[:len(good)-1], "truncated"},
		"too long":  {append(append([]byte{}, good...), 0), "counts disagree"},
		"huge":      {idxBytes([]int{1 << 30, 1 << 30, 1 << 30}, nil), "more data"},
	}
	for name, c := range bad {
		_, err := ParseIDX(c.data, "file.idx")
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "file.idx") {
			t.Errorf("%s: got error %v, want one naming file.idx and saying %q", name, err, c.want)
		}
	}
	_, err = ParseIDX(good[:len(good)-4], "f")
	if err == nil || !strings.Contains(err.Error(), "record 1 is incomplete") {
		t.Errorf("truncated record: got %v", err)
	}
}

func TestIDXPairAndGzip(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "img.gz"), gzipBytes(t, idxBytes([]int{3, 2, 2}, make([]byte, 12))))
	writeFile(t, filepath.Join(dir, "lab"), idxBytes([]int{3}, []byte{0, 9, 2}))
	writeFile(t, filepath.Join(dir, "lab2"), idxBytes([]int{2}, []byte{0, 9}))
	writeFile(t, filepath.Join(dir, "lab3"), idxBytes([]int{3}, []byte{0, 10, 2}))
	writeFile(t, filepath.Join(dir, "cut.gz"), gzipBytes(t, idxBytes([]int{3, 2, 2}, make([]byte, 12)))[:20])
	a, err := idxPair(filepath.Join(dir, "img.gz"), filepath.Join(dir, "lab"), 10)
	if err != nil {
		t.Fatal(err)
	}
	if a.Len() != 3 || a.Channels != 1 || a.Label(1) != 9 {
		t.Fatalf("bad source %+v", a)
	}
	if _, err := idxPair(filepath.Join(dir, "img.gz"), filepath.Join(dir, "lab2"), 10); err == nil ||
		!strings.Contains(err.Error(), "counts disagree") {
		t.Errorf("count mismatch: %v", err)
	}
	if _, err := idxPair(filepath.Join(dir, "img.gz"), filepath.Join(dir, "lab3"), 10); err == nil ||
		!strings.Contains(err.Error(), "record 1 has label 10") {
		t.Errorf("bad label: %v", err)
	}
	if _, err := idxPair(filepath.Join(dir, "cut.gz"), filepath.Join(dir, "lab"), 10); err == nil ||
		!strings.Contains(err.Error(), "cut.gz") {
		t.Errorf("truncated gzip: %v", err)
	}
	if _, err := idxPair(filepath.Join(dir, "missing.gz"), filepath.Join(dir, "lab"), 10); err == nil ||
		!errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

// TestRealMNIST reads the offline copies when they are installed (Debian dataset-fashion-mnist, the GoMNIST module).
func TestRealMNIST(t *testing.T) {
	t.Setenv(files.EnvCache, t.TempDir()) // Stamps of the offline copies.
	for _, name := range []string{"fashion-mnist", "mnist"} {
		t.Run(name, func(t *testing.T) {
			info, _ := Lookup(name)
			if _, _, err := info.Locate(t.TempDir()); err != nil {
				t.Skipf("offline copy not installed: %v", err)
			}
			ds, err := Load(name, Options{Dir: t.TempDir()})
			if err != nil {
				t.Fatal(err)
			}
			train, test := ds.Splits[SplitTrain], ds.Splits[SplitTest]
			if train.Len() != 60000 || test.Len() != 10000 || len(ds.Classes) != 10 {
				t.Fatalf("got %d/%d examples, %d classes", train.Len(), test.Len(), len(ds.Classes))
			}
			counts := make([]int, 10)
			for i := range train.Len() {
				counts[train.Label(i)]++
			}
			for c, n := range counts {
				if n < 5000 || n > 7000 {
					t.Errorf("class %d has %d training examples", c, n)
				}
			}
			p, _ := train.Load(0)
			if p.Height != 28 || p.Width != 28 || p.Channels != 1 {
				t.Fatalf("image shape %dx%dx%d", p.Height, p.Width, p.Channels)
			}
			// Published first training labels: MNIST 5, Fashion-MNIST 9 (ankle boot).
			want := map[string]int32{"mnist": 5, "fashion-mnist": 9}[name]
			if train.Label(0) != want {
				t.Errorf("first label %d, want %d", train.Label(0), want)
			}
			states, err := Verify(info, ds.Dir)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range states {
				if !s.OK {
					t.Errorf("checksum of offline %s: %s", s.File, s.State)
				}
			}
		})
	}
}

func TestParseCIFAR(t *testing.T) {
	data := cifarRecords(3, func(r int) []byte { return []byte{byte(r % 2), byte(r + 5)} })
	a, err := ParseCIFAR(data, "train.bin", 2, 1, 100, 3)
	if err != nil {
		t.Fatal(err)
	}
	if a.Label(2) != 7 {
		t.Errorf("fine label %d, want 7", a.Label(2))
	}
	p, _ := a.Load(2)
	// Planar to HWC: pixel (row 0, col 5) is red=2 (record), green=105, blue=7.
	if got := p.Pix[15:18]; got[0] != 2 || got[1] != 105 || got[2] != 7 {
		t.Errorf("pixel 5 = %v, want [2 105 7]", got)
	}
	coarse, _ := ParseCIFAR(data, "train.bin", 2, 0, 20, 0)
	if coarse.Label(1) != 1 {
		t.Errorf("coarse label %d", coarse.Label(1))
	}
	for name, c := range map[string]struct {
		data []byte
		want string
	}{
		"truncated": {data[:len(data)-10], "truncated CIFAR record 2"},
		"empty":     {nil, "no CIFAR records"},
		"count":     {data[:2*3074], "2 CIFAR records, want 3"},
		"label":     {cifarRecords(2, func(r int) []byte { return []byte{0, byte(100 * r)} }), "record 1 has label 100"},
	} {
		want := 3
		if name == "label" {
			want = 0
		}
		if _, err := ParseCIFAR(c.data, "train.bin", 2, 1, 100, want); err == nil ||
			!strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "train.bin") {
			t.Errorf("%s: got %v, want %q", name, err, c.want)
		}
	}
}

// withSmallCIFAR makes CIFAR loaders accept small files for the duration of a test.
func withSmallCIFAR(t *testing.T, perBatch, train100, test100 int) {
	old := cifarCounts
	cifarCounts.perBatch10, cifarCounts.train100, cifarCounts.test100 = perBatch, train100, test100
	t.Cleanup(func() { cifarCounts = old })
}

// writeCIFAR10 writes a small cifar-10-binary.tar.gz laid out as published into dir/cifar10.
func writeCIFAR10(t testing.TB, dir string, perBatch int) {
	members := [][2]string{{"cifar-10-batches-bin/", ""}}
	for _, f := range []string{"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin",
		"data_batch_5.bin", "test_batch.bin"} {
		members = append(members, [2]string{"cifar-10-batches-bin/" + f,
			string(cifarRecords(perBatch, func(r int) []byte { return []byte{byte(r % 10)} }))})
	}
	members = append(members, [2]string{"cifar-10-batches-bin/batches.meta.txt", strings.Join(cifar10Classes, "\n")})
	writeFile(t, filepath.Join(dir, "cifar10", "cifar-10-binary.tar.gz"), tarGz(t, members))
}

func TestLoadCIFAR(t *testing.T) {
	withSmallCIFAR(t, 20, 50, 10)
	dir := t.TempDir()
	writeCIFAR10(t, dir, 20)
	publishFixture(t, "cifar10", dir)
	ds, err := Load("cifar10", Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if n := ds.Splits[SplitTrain].Len() + ds.Splits[SplitValidation].Len(); n != 100 ||
		ds.Splits[SplitValidation].Len() != 2 || ds.Splits[SplitTest].Len() != 20 {
		t.Errorf("splits train %d validation %d test %d", ds.Splits[SplitTrain].Len(),
			ds.Splits[SplitValidation].Len(), ds.Splits[SplitTest].Len())
	}
	if !strings.Contains(ds.Origin, "cifar-10-binary.tar.gz") {
		t.Errorf("origin %q", ds.Origin)
	}

	// CIFAR-100 from the extracted folder, fine and coarse labels.
	c100 := filepath.Join(dir, "cifar100")
	writeFile(t, filepath.Join(c100, "cifar-100-binary", "train.bin"),
		cifarRecords(50, func(r int) []byte { return []byte{byte(r % 20), byte(r)} }))
	writeFile(t, filepath.Join(c100, "cifar-100-binary", "test.bin"),
		cifarRecords(10, func(r int) []byte { return []byte{byte(r % 20), byte(99 - r)} }))
	fine, err := Load("cifar100", Options{Dir: dir, Holdout: -1})
	if err != nil {
		t.Fatal(err)
	}
	if fine.Splits[SplitTest].Label(1) != 98 || len(fine.Classes) != 100 {
		t.Errorf("fine label %d", fine.Splits[SplitTest].Label(1))
	}
	coarse, err := Load("cifar100-coarse", Options{Dir: dir, Holdout: -1})
	if err != nil {
		t.Fatal(err)
	}
	if coarse.Splits[SplitTest].Label(3) != 3 || len(coarse.Classes) != 20 {
		t.Errorf("coarse label %d", coarse.Splits[SplitTest].Label(3))
	}

	// Missing split file.
	if err := os.Remove(filepath.Join(c100, "cifar-100-binary", "test.bin")); err != nil {
		t.Fatal(err)
	}
	if _, err := Load("cifar100", Options{Dir: dir}); err == nil || !strings.Contains(err.Error(), "test.bin") {
		t.Errorf("missing test.bin: %v", err)
	}
	// Archive without a split file.
	writeFile(t, filepath.Join(dir, "x", "cifar10", "cifar-10-binary.tar.gz"),
		tarGz(t, [][2]string{{"cifar-10-batches-bin/data_batch_1.bin", "x"}}))
	publishFixture(t, "cifar10", filepath.Join(dir, "x"))
	if _, err := Load("cifar10", Options{Dir: filepath.Join(dir, "x")}); err == nil ||
		!strings.Contains(err.Error(), "missing split file cifar-10-batches-bin/data_batch_2.bin") {
		t.Errorf("archive without files: %v", err)
	}
}

func TestNotFoundMessage(t *testing.T) {
	_, err := Load("cifar10", Options{Dir: t.TempDir()})
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("got %v", err)
	}
	for _, want := range []string{"cifar-10-binary.tar.gz", "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz",
		"vit data get cifar10", "c32a1d4ab5d03f1284b67883e8d87530"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message lacks %q:\n%v", want, err)
		}
	}
	if _, err := Load("nope", Options{}); err == nil || !strings.Contains(err.Error(), "cifar10") {
		t.Errorf("unknown name: %v", err)
	}
}

func TestParseMAT(t *testing.T) {
	for _, order := range []binary.ByteOrder{binary.LittleEndian, binary.BigEndian} {
		for _, compress := range []bool{false, true} {
			dbl := make([]byte, 16)
			order.PutUint64(dbl, math.Float64bits(2.5))
			order.PutUint64(dbl[8:], math.Float64bits(-1))
			data := matFile(order, compress,
				matVar{name: "labels", class: 6, dims: []int32{1, 5}, typ: miUINT8, data: u8(1, 2, 3, 102, 7)},
				matVar{name: "trnid", class: 6, dims: []int32{1, 3}, typ: miUINT16, data: u16(order, 1, 300, 8189)},
				matVar{name: "d", class: 6, dims: []int32{2, 1}, typ: miDOUBLE, data: dbl},
				matVar{name: "s", class: 4, dims: []int32{1, 2}, typ: miUINT16, data: u16(order, 65, 66)}, // char: skipped
			)
			vars, err := ParseMAT(data, "x.mat")
			if err != nil {
				t.Fatalf("%v compress=%v: %v", order, compress, err)
			}
			if got := fmt.Sprint(vars["labels"].Values, vars["trnid"].Values, vars["d"].Values, vars["trnid"].Dims); got !=
				"[1 2 3 102 7] [1 300 8189] [2.5 -1] [1 3]" {
				t.Errorf("%v compress=%v: got %s", order, compress, got)
			}
			if _, ok := vars["s"]; ok {
				t.Errorf("char array should be skipped")
			}
			// Every truncation is an error, never a panic.
			for cut := 0; cut < len(data); cut += 7 {
				if _, err := ParseMAT(data[:cut], "x.mat"); err == nil && cut < 128+8 {
					t.Errorf("cut at %d: no error", cut)
				}
			}
		}
	}
	bad := matFile(binary.LittleEndian, false,
		matVar{name: "labels", class: 6, dims: []int32{1, 6}, typ: miUINT8, data: u8(1, 2, 3, 4, 5)})
	if _, err := ParseMAT(bad, "x.mat"); err == nil || !strings.Contains(err.Error(), "need 6 values") {
		t.Errorf("count mismatch: %v", err)
	}
	hdr := make([]byte, 200)
	if _, err := ParseMAT(hdr, "x.mat"); err == nil || !strings.Contains(err.Error(), "wrong .mat magic") {
		t.Errorf("magic: %v", err)
	}
}

// TestParseMATScipy reads .mat files written by scipy.io.savemat (testdata, made with scipy 1.x: compressed with
// trnid as doubles, valid as uint16, a char array; uncompressed with uint8 labels and a cell array).
func TestParseMATScipy(t *testing.T) {
	vars, err := ParseMAT(readTestdata(t, "scipy_setid.mat"), "scipy_setid.mat")
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(vars["trnid"].Values, vars["valid"].Values, len(vars["tstid"].Values), vars["tstid"].Dims); got !=
		"[1 2 3 300] [4 5] 10 [1 10]" {
		t.Errorf("got %s", got)
	}
	if _, ok := vars["name"]; ok {
		t.Errorf("char array read as numbers")
	}
	vars, err = ParseMAT(readTestdata(t, "scipy_labels.mat"), "scipy_labels.mat")
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(vars["labels"].Values); got != "[1 102 50]" {
		t.Errorf("labels %s", got)
	}
}
