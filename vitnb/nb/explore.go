package nb

import (
	"fmt"
	"html"
	"image"
	"os"
	"time"

	"github.com/janpfeifer/gonb/gonbui"
	"github.com/janpfeifer/gonb/gonbui/dom"
	"github.com/janpfeifer/gonb/gonbui/widgets"
)

// InteractiveEnv is the environment variable that turns the explorers' widgets on (1) or off (0) whatever
// Interactive would guess.
const InteractiveEnv = "VITNB_INTERACTIVE"

// ExploreIdle is how long an explorer waits for the next change of a control before its cell ends (the cell's
// program must keep running to redraw the picture, which holds up the cells after it).
var ExploreIdle = 10 * time.Minute

// frontEndWait is how long the widgets may take to hear from the browser before the explorer gives up and keeps
// its default view (GoNB's widgets wait for the front end's first message: a headless run has none).
const frontEndWait = 10 * time.Second

// Interactive reports whether a notebook cell can wait for a person moving sliders: in a GoNB cell, with neither
// $VITNB_BUDGET set (`vit notebook run` and the CI's browser test set it: nobody is there to move a slider) nor
// $VITNB_INTERACTIVE=0. $VITNB_INTERACTIVE=1 forces it on.
func Interactive() bool {
	switch os.Getenv(InteractiveEnv) {
	case "0":
		return false
	case "1":
		return InNotebook()
	}
	return InNotebook() && os.Getenv(BudgetEnv) == ""
}

// Control is one control of an explorer: a choice among Options (a drop-down list) when Options is set, else
// a whole number from Min to Max (a slider). Value is its starting value (an index into Options).
type Control struct {
	Name     string
	Options  []string
	Min, Max int
	Value    int
}

// Explore draws the picture that render makes of the controls' values, and when the notebook is Interactive,
// shows the controls (GoNB's Select and Slider widgets) and redraws the picture in place whenever one changes,
// until none has changed for ExploreIdle. Otherwise (a headless run, or outside a notebook) it shows the
// picture of the starting values and returns: a stored notebook holds that default view.
func Explore(controls []Control, render func(values []int) (image.Image, error)) error {
	values := make([]int, len(controls))
	for i, c := range controls {
		if len(c.Options) > 0 && (c.Value < 0 || c.Value >= len(c.Options)) {
			return fmt.Errorf("nb: control %q: value %d is not one of its %d options", c.Name, c.Value, len(c.Options))
		}
		if len(c.Options) == 0 && (c.Min > c.Max || c.Value < c.Min || c.Value > c.Max) {
			return fmt.Errorf("nb: control %q: value %d outside [%d, %d]", c.Name, c.Value, c.Min, c.Max)
		}
		values[i] = c.Value
	}
	img, err := render(values)
	if err != nil {
		return err
	}
	if !Interactive() {
		Show(img)
		return nil
	}
	// The controls go into a <div> that package dom appends to (a DOM id); the picture into a display block that
	// gonbui.UpdateHTML creates on its first call and replaces on the next ones (a display id, not a DOM id).
	id := "vitnb-explore-" + gonbui.UniqueID()
	controlsID := id + "-controls"
	gonbui.DisplayHTML(fmt.Sprintf(`<div id="%s" style="margin-bottom:6px"></div>`, controlsID))
	gonbui.UpdateHTML(id, imgHTML(img))
	flush()

	type change struct{ control, value int }
	changes := make(chan change, 16)
	ready := make(chan struct{})
	go func() {
		for i, c := range controls {
			dom.Append(controlsID, fmt.Sprintf(`<span style="margin:0 4px 0 12px">%s</span>`, html.EscapeString(c.Name)))
			var ch chan int
			if len(c.Options) > 0 {
				ch = widgets.Select(c.Options).SetDefault(c.Value).AppendTo(controlsID).Done().Listen().C
			} else {
				ch = widgets.Slider(c.Min, c.Max, c.Value).AppendTo(controlsID).Done().Listen().C
			}
			go func() {
				for v := range ch {
					changes <- change{i, v}
				}
			}()
		}
		close(ready)
	}()
	select {
	case <-ready:
	case <-time.After(frontEndWait):
		fmt.Println("no notebook front end answered: the default view stays")
		return nil
	}
	fmt.Printf("move the controls to redraw the picture (this cell waits for them until %s pass without a change, or until interrupted)\n",
		Duration(ExploreIdle.Seconds()))
	for {
		select {
		case c := <-changes:
			values[c.control] = c.value
			img, err := render(values)
			if err != nil {
				gonbui.UpdateHTML(id, "<pre>"+html.EscapeString(err.Error())+"</pre>")
				continue
			}
			gonbui.UpdateHTML(id, imgHTML(img))
		case <-time.After(ExploreIdle):
			fmt.Println("no change for", Duration(ExploreIdle.Seconds()), "- the explorer stopped; run the cell again to go on")
			return nil
		}
	}
}

// imgHTML is an <img> element holding img as PNG.
func imgHTML(img image.Image) string {
	src, err := gonbui.EmbedImageAsPNGSrc(img)
	if err != nil {
		return "<pre>" + html.EscapeString(err.Error()) + "</pre>"
	}
	return fmt.Sprintf(`<img src="%s">`, src)
}
