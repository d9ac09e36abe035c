package nb

import (
	"bytes"
	"encoding/base64"
	"image"
	"image/png"
	"strings"
	"testing"
)

// TestLive checks that the live picture is an inline PNG that decodes to the picture drawn, and that outside a
// notebook Update does not even draw.
func TestLive(t *testing.T) {
	html, err := liveHTML(image.NewRGBA(image.Rect(0, 0, 7, 5)))
	if err != nil {
		t.Fatal(err)
	}
	const prefix = `<img src="data:image/png;base64,`
	if !strings.HasPrefix(html, prefix) || !strings.HasSuffix(html, `">`) {
		t.Fatalf("live HTML %.60q is not an inline PNG", html)
	}
	data, err := base64.StdEncoding.DecodeString(strings.TrimSuffix(strings.TrimPrefix(html, prefix), `">`))
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil || img.Bounds().Dx() != 7 || img.Bounds().Dy() != 5 {
		t.Fatalf("decoded %v, %v; want a 7x5 picture", img, err)
	}
	drawn := false
	if err := NewLive().Update(func() (image.Image, error) { drawn = true; return img, nil }, true); err != nil || drawn {
		t.Fatalf("outside a notebook Update drew (%v) or failed: %v", drawn, err)
	}
}
