package nb

import (
	"fmt"
	"time"

	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/train"
	"github.com/janpfeifer/gonb/gonbui"

	"github.com/vitnb/vitnb/vitnb/training"
	"github.com/vitnb/vitnb/vitnb/viz"
)

// showProgress shows the progress of run while it trains. In a notebook it is an HTML bar (viz.ProgressHTML)
// that GoNB updates in place (gonbui.UpdateHTML): the stored notebook keeps only its last state. GoMLX's own
// progress bar (training.Config.Progress) writes a line of text with a carriage return per step instead, which
// a notebook stores step after step. Outside a notebook it prints a line every tenth of the run.
func showProgress(run *training.Run, what string) {
	total := run.Config.Optimizer.TotalSteps
	id := "vitnb-progress-" + gonbui.UniqueID()
	var start, last time.Time
	var startStep int
	run.Loop.OnStart("vitnb-nb-progress", train.Priority(0), func(loop *train.Loop, _ train.Dataset) error {
		start, startStep = time.Now(), loop.LoopStep
		return nil
	})
	run.Loop.OnStep("vitnb-nb-progress", train.Priority(0), func(loop *train.Loop, metrics []*tensors.Tensor) error {
		step := loop.LoopStep + 1 // steps done
		now := time.Now()
		notebook := InNotebook()
		due := step == total || (notebook && now.Sub(last) >= 500*time.Millisecond) ||
			(!notebook && step%max(total/10, 1) == 0)
		if !due || len(metrics) < 3 {
			return nil
		}
		last = now
		line := progressLine(what, step, total, startStep, now.Sub(start), training.ScalarValue(metrics[1]),
			training.ScalarValue(metrics[2]), run.Config.BatchSize)
		if notebook {
			gonbui.UpdateHTML(id, viz.ProgressHTML(step, total, line))
		} else {
			fmt.Printf("step %d/%d: %s\n", step, total, line)
		}
		return nil
	})
}

// progressLine is the text beside the bar: the loss and training accuracy (moving averages), speed, time spent
// and left.
func progressLine(what string, step, total, startStep int, elapsed time.Duration, loss, acc float64, batch int) string {
	s := fmt.Sprintf("%s · loss %.3f · train accuracy %.1f%% (moving averages)", what, loss, 100*acc)
	if done := step - startStep; done > 0 && elapsed > 0 {
		perStep := elapsed / time.Duration(done)
		s += fmt.Sprintf(" · %.0f img/s · %s", float64(batch)/perStep.Seconds(), elapsed.Round(time.Second))
		if step < total {
			s += fmt.Sprintf(", about %s left", (perStep * time.Duration(total-step)).Round(time.Second))
		}
	}
	return s
}
