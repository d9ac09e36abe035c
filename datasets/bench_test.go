package datasets

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"math"
	"math/rand/v2"
	"path/filepath"
	"testing"
)

// Benchmarks of the input pipeline alone (no model): images/s through Pipeline.Iter, which builds the GoMLX tensors.
//
//	go test -run '^$' -bench Pipeline -benchtime 3s ./datasets

// runPipeline pulls at least b.N images from an endless pipeline and reports images/s.
func runPipeline(b *testing.B, src Source, cfg Config) {
	cfg.Loop = true
	p, err := NewPipeline(src, cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	n := 0
	for batch, err := range p.Iter() {
		if err != nil {
			b.Fatal(err)
		}
		n += batch.Labels[0].Shape().Dimensions[0]
		_ = batch.Finalize()
		if n >= b.N {
			break
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "images/s")
}

// BenchmarkPipelineCIFAR32 feeds CIFAR-10-format images held in memory at 32 px, batch 128.
func BenchmarkPipelineCIFAR32(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	recs := make([]byte, 5000*(1+cifarPixels))
	for i := range recs {
		recs[i] = byte(rng.IntN(256))
	}
	for r := range 5000 {
		recs[r*(1+cifarPixels)] = byte(r % 10)
	}
	src, err := ParseCIFAR(recs, "bench", 1, 0, 10, 0)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("train", func(b *testing.B) { runPipeline(b, src, TrainConfig(128, 32, 1)) })
	b.Run("eval", func(b *testing.B) { runPipeline(b, src, EvalConfig(128, 32)) })
}

// benchJPEG writes a textured w x h JPEG (quality 90, like photos of the Pets and Flowers sets).
func benchJPEG(b *testing.B, path string, w, h, seed int) {
	img := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	rng := rand.New(rand.NewPCG(uint64(seed), 3))
	fx, fy := 0.02+0.05*rng.Float64(), 0.02+0.05*rng.Float64()
	rgba := image.NewRGBA(img.Rect)
	for y := range h {
		for x := range w {
			v := 128 + 60*math.Sin(fx*float64(x)+fy*float64(y)) + 30*rng.Float64()
			rgba.Set(x, y, color.RGBA{uint8(v), uint8(255 - v), uint8(int(v*0.5) + seed%50), 255})
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, rgba, &jpeg.Options{Quality: 90}); err != nil {
		b.Fatal(err)
	}
	writeFile(b, path, buf.Bytes())
}

// BenchmarkPipelineJPEG224 decodes JPEG files from a folder and produces 224 px training batches (inception crop,
// flip), batch 32: photos of 500x375 (the typical Pets/Flowers size) and of 224x224.
func BenchmarkPipelineJPEG224(b *testing.B) {
	for _, size := range [][2]int{{500, 375}, {224, 224}} {
		b.Run(fmt.Sprintf("src%dx%d", size[0], size[1]), func(b *testing.B) {
			dir := b.TempDir()
			for i := range 48 {
				benchJPEG(b, filepath.Join(dir, fmt.Sprintf("c%d", i%4), fmt.Sprintf("%03d.jpg", i)), size[0], size[1], i)
			}
			ds, err := LoadFolder(dir)
			if err != nil {
				b.Fatal(err)
			}
			runPipeline(b, ds.Splits[SplitTrain], TrainConfig(32, 224, 1))
		})
	}
}
