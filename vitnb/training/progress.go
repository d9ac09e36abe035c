package training

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// Progress is the state of a training run after an optimizer step: what Config.OnProgress receives, and what the
// terminal bar (TerminalProgress) and the notebooks' HTML bar (package nb) draw.
type Progress struct {
	// Step is the number of optimizer steps done, Total the length of the run, StartStep the step this process
	// started from (above 0 when resumed).
	Step, Total, StartStep int
	// Elapsed is the time since this process started training.
	Elapsed time.Duration
	// Loss and Accuracy are moving averages of the training batches.
	Loss, Accuracy float64
	// ImagesPerStep is the number of images per optimizer step (batch times accumulation).
	ImagesPerStep int
}

// ImagesPerSecond is the training speed of this process so far.
func (p Progress) ImagesPerSecond() float64 {
	if p.Elapsed <= 0 || p.Step <= p.StartStep {
		return 0
	}
	return float64((p.Step-p.StartStep)*p.ImagesPerStep) / p.Elapsed.Seconds()
}

// Left estimates the time to the end of the run at the speed so far.
func (p Progress) Left() time.Duration {
	done := p.Step - p.StartStep
	if done <= 0 {
		return 0
	}
	return time.Duration(float64(p.Elapsed) * float64(p.Total-p.Step) / float64(done))
}

// String is the text beside a progress bar: step, loss, training accuracy, speed, time spent and left.
func (p Progress) String() string {
	s := fmt.Sprintf("step %d/%d  loss %.4f  train acc %.1f%%", p.Step, p.Total, p.Loss, 100*p.Accuracy)
	if ips := p.ImagesPerSecond(); ips > 0 {
		s += fmt.Sprintf("  %.0f img/s  %s spent, %s left", ips, p.Elapsed.Round(time.Second), p.Left().Round(time.Second))
	}
	return s
}

// TerminalProgress returns a Config.OnProgress that draws a bar on w: redrawn in place a few times a second when
// w is a terminal, else a line every tenth of the run (logs, pipes, CI).
func TerminalProgress(w io.Writer) func(Progress) {
	if w == nil {
		w = io.Discard // no writer: no bar
	}
	interactive := isTerminal(w)
	var last time.Time
	return func(p Progress) {
		end := p.Step >= p.Total
		if !interactive {
			if end || p.Step%max(p.Total/10, 1) == 0 {
				fmt.Fprintln(w, p)
			}
			return
		}
		if !end && time.Since(last) < 250*time.Millisecond {
			return
		}
		last = time.Now()
		const width = 30
		filled := width * p.Step / max(p.Total, 1)
		fmt.Fprintf(w, "\r[%s%s] %s\x1b[K", strings.Repeat("#", filled), strings.Repeat(".", width-filled), p)
		if end {
			fmt.Fprintln(w)
		}
	}
}

// isTerminal tells whether w is a character device (a terminal), where a progress bar can redraw in place.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
