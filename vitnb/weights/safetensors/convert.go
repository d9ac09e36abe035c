package safetensors

import (
	"encoding/binary"
	"fmt"
	"math"
	"unsafe"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/dtypes/bfloat16"
	"github.com/gomlx/compute/dtypes/float16"
)

// float32Bytes views a float32 slice as its bytes (little-endian machines only, as every GoMLX backend).
func float32Bytes(v []float32) []byte {
	if len(v) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&v[0])), 4*len(v))
}

// DecodeFloat32 converts little-endian data of a float dtype (F16, BF16, F32, F64) to float32 into out, which
// must have one element per value.
func DecodeFloat32(dt dtypes.DType, data []byte, out []float32) error {
	if len(data) != len(out)*dt.Size() {
		return fmt.Errorf("%d bytes of %s do not make %d values", len(data), dt, len(out))
	}
	switch dt {
	case dtypes.Float32:
		for i := range out {
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(data[4*i:]))
		}
	case dtypes.Float64:
		for i := range out {
			out[i] = float32(math.Float64frombits(binary.LittleEndian.Uint64(data[8*i:])))
		}
	case dtypes.Float16:
		for i := range out {
			out[i] = float16.Float16(binary.LittleEndian.Uint16(data[2*i:])).Float32()
		}
	case dtypes.BFloat16:
		for i := range out {
			out[i] = bfloat16.FromBits(binary.LittleEndian.Uint16(data[2*i:])).Float32()
		}
	default:
		return fmt.Errorf("dtype %s is not a float type", dt)
	}
	return nil
}
