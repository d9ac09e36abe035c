package training

import (
	"fmt"
	"math"
	"slices"
)

// Divergence detection (Run.Train): a batch loss is "far" above the running median of the last divergenceWindow
// batch losses when it is both more than divergenceFactor times the median and more than 2*ln(C) above it (C
// classes). The factor: the batch-to-batch noise of a training loss stays well within an order of magnitude of
// its median while the median is not tiny; the additive margin covers a well-fit model (median near 0) where one
// hard batch can be 10x the median: 2*ln(C) is twice the loss of guessing uniformly, so a batch that far above
// the usual is confidently wrong on most of its images. One such batch can still be bad luck; divergenceStreak
// of them in a row is a diverging run (exploding weights give losses of tens to thousands).
const (
	divergenceWindow  = 50
	divergenceMinimum = 10 // batch losses seen before judging
	divergenceFactor  = 10
	divergenceStreak  = 3
)

// divergence follows the batch losses of a run.
type divergence struct {
	margin float64 // 2*ln(C)
	recent []float64
	streak int
}

func newDivergence(classes int) *divergence {
	return &divergence{margin: 2 * math.Log(float64(max(classes, 2)))}
}

// add records a batch loss and returns an error when the run has diverged.
func (d *divergence) add(loss float64) error {
	if d == nil {
		return nil
	}
	if len(d.recent) >= divergenceMinimum {
		med := d.median()
		if loss > divergenceFactor*med && loss > med+d.margin {
			d.streak++
			if d.streak >= divergenceStreak {
				return fmt.Errorf("the loss is %.4g, far above its running median %.4g (more than %dx and %.2f above it, %d batches in a row)",
					loss, med, divergenceFactor, d.margin, d.streak)
			}
			return nil // a far loss does not enter the median
		}
	}
	d.streak = 0
	d.recent = append(d.recent, loss)
	if len(d.recent) > divergenceWindow {
		d.recent = d.recent[1:]
	}
	return nil
}

// median of the recent losses: the smoothed training loss that picks the best checkpoint (NaN before any).
func (d *divergence) median() float64 {
	if d == nil || len(d.recent) == 0 {
		return math.NaN()
	}
	s := slices.Clone(d.recent)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// sane tells whether the latest batch losses look sane: no far loss pending.
func (d *divergence) sane() bool { return d == nil || d.streak == 0 }
