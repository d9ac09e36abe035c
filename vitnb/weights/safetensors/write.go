package safetensors

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"sort"

	"github.com/gomlx/compute/dtypes"

	"github.com/vitnb/vitnb/vitnb/files"
)

// Tensor is one tensor to write: its name, dtype, shape and a function that writes exactly its little-endian
// bytes. Writing through a function lets callers convert or stream one tensor at a time.
type Tensor struct {
	Name  string
	DType dtypes.DType
	Shape []int
	// WriteData writes the tensor's bytes (Size()*DType.Size() of them) to w.
	WriteData func(w io.Writer) error
}

// Float32Tensor returns a Tensor that writes float32 data.
func Float32Tensor(name string, data []float32, shape ...int) Tensor {
	return Tensor{Name: name, DType: dtypes.Float32, Shape: shape, WriteData: func(w io.Writer) error {
		_, err := w.Write(float32Bytes(data))
		return err
	}}
}

type headerEntry struct {
	DType       string  `json:"dtype"`
	Shape       []int   `json:"shape"`
	DataOffsets []int64 `json:"data_offsets"`
}

// Write writes tensors (sorted by name, laid out contiguously) and optional metadata in the safetensors format.
func Write(w io.Writer, list []Tensor, metadata map[string]string) error {
	sorted := append([]Tensor(nil), list...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Name < sorted[j].Name })
	header := map[string]any{}
	if len(metadata) > 0 {
		header[MetadataKey] = metadata
	}
	sizes := make([]int64, len(sorted))
	var offset int64
	for i, t := range sorted {
		if _, dup := header[t.Name]; dup {
			return fmt.Errorf("tensor %q given twice", t.Name)
		}
		name, err := NameOfDType(t.DType)
		if err != nil {
			return fmt.Errorf("tensor %q: %w", t.Name, err)
		}
		n := int64(1)
		for _, d := range t.Shape {
			n *= int64(d)
		}
		sizes[i] = n * int64(t.DType.Size())
		shape := t.Shape
		if shape == nil {
			shape = []int{}
		}
		header[t.Name] = headerEntry{DType: name, Shape: shape, DataOffsets: []int64{offset, offset + sizes[i]}}
		offset += sizes[i]
	}
	js, err := json.Marshal(header)
	if err != nil {
		return err
	}
	for len(js)%8 != 0 { // Align the data section to 8 bytes, as the reference writer does.
		js = append(js, ' ')
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	var lenBytes [8]byte
	binary.LittleEndian.PutUint64(lenBytes[:], uint64(len(js)))
	if _, err := bw.Write(lenBytes[:]); err != nil {
		return err
	}
	if _, err := bw.Write(js); err != nil {
		return err
	}
	for i, t := range sorted {
		cw := &countingWriter{w: bw}
		if err := t.WriteData(cw); err != nil {
			return fmt.Errorf("tensor %q: %w", t.Name, err)
		}
		if cw.n != sizes[i] {
			return fmt.Errorf("tensor %q: wrote %d bytes, its shape needs %d", t.Name, cw.n, sizes[i])
		}
	}
	return bw.Flush()
}

// WriteFile writes a safetensors file atomically (files.WriteAtomic: a temporary file in the same folder, renamed
// at the end).
func WriteFile(path string, list []Tensor, metadata map[string]string) error {
	return files.WriteAtomic(path, func(w io.Writer) error { return Write(w, list, metadata) })
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
