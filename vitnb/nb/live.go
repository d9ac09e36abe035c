package nb

import (
	"encoding/base64"
	"image"
	"time"

	"github.com/janpfeifer/gonb/gonbui"

	"github.com/vitnb/vitnb/vitnb/viz"
)

// Live is a picture that a running cell redraws in place, for example the curves of a training loop written in
// the notebook: an HTML <img> that GoNB replaces (gonbui.UpdateHTML with a transient display id, as Progress
// does for its bar). Done removes it and shows the final picture as an ordinary PNG output, which is what the
// stored notebook keeps. Outside a notebook Update draws nothing and Done prints what Show prints.
type Live struct {
	id   string
	last time.Time
	// Every is the shortest time between two redraws.
	Every time.Duration
}

// NewLive returns a live picture redrawn at most once a second.
func NewLive() *Live { return &Live{id: "vitnb-live-" + gonbui.UniqueID(), Every: time.Second} }

// Update redraws the picture with draw, unless the last redraw is more recent than Every (then draw is not
// called). last forces the redraw.
func (l *Live) Update(draw func() (image.Image, error), last bool) error {
	if !InNotebook() || (!last && time.Since(l.last) < l.Every) {
		return nil
	}
	img, err := draw()
	if err != nil {
		return err
	}
	html, err := liveHTML(img)
	if err != nil {
		return err
	}
	gonbui.UpdateHTML(l.id, html)
	l.last = time.Now()
	return nil
}

// Done replaces the live picture by img, shown as PNG (Show).
func (l *Live) Done(img image.Image) {
	if InNotebook() {
		gonbui.UpdateHTML(l.id, "")
	}
	Show(img)
}

// liveHTML is img as an HTML <img> with the PNG inline.
func liveHTML(img image.Image) (string, error) {
	data, err := viz.EncodePNG(img)
	if err != nil {
		return "", err
	}
	return `<img src="data:image/png;base64,` + base64.StdEncoding.EncodeToString(data) + `">`, nil
}
