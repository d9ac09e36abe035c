package nb

import (
	"fmt"
	"os"
	"time"

	"github.com/janpfeifer/gonb/gonbui"

	"github.com/vitnb/vitnb/vitnb/training"
	"github.com/vitnb/vitnb/vitnb/viz"
)

// Progress returns a training.Config.OnProgress (classifier.TrainOptions.Progress) for a notebook: an HTML bar
// (viz.ProgressHTML) that GoNB updates in place (gonbui.UpdateHTML), so the stored notebook keeps only its last
// state, redrawn at most twice a second. Outside a notebook it is the terminal's bar (training.TerminalProgress).
func Progress(what string) func(training.Progress) {
	if !InNotebook() {
		return training.TerminalProgress(os.Stdout)
	}
	id := "vitnb-progress-" + gonbui.UniqueID()
	var last time.Time
	return func(p training.Progress) {
		if p.Step < p.Total && time.Since(last) < 500*time.Millisecond {
			return
		}
		last = time.Now()
		gonbui.UpdateHTML(id, viz.ProgressHTML(p.Step, p.Total, progressLine(what, p)))
		if p.Step >= p.Total {
			flush() // the bar's last state, before the cell goes on or ends
		}
	}
}

// progressLine is the text beside the bar: the loss and training accuracy (moving averages), speed, time spent
// and left.
func progressLine(what string, p training.Progress) string {
	s := fmt.Sprintf("%s · loss %.3f · train accuracy %.1f%% (moving averages)", what, p.Loss, 100*p.Accuracy)
	if ips := p.ImagesPerSecond(); ips > 0 {
		s += fmt.Sprintf(" · %.0f img/s · %s", ips, p.Elapsed.Round(time.Second))
		if p.Step < p.Total {
			s += fmt.Sprintf(", about %s left", p.Left().Round(time.Second))
		}
	}
	return s
}
