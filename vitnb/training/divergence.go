package training

import (
	"fmt"
	"math"
	"slices"
)

// Divergence detection (Run.Train): a batch loss is "far" above the running median of the last divergenceWindow
// batch losses when it is both more than divergenceFactor times the median and more than ln(C) above it (C
// classes). ln(C) is the cross-entropy of a model that knows nothing (a uniform guess): a batch that much worse
// than the usual is predicted worse than by guessing, relative to what the model does. The factor keeps the
// ordinary noise of batch losses out when the median itself is large (early training, many classes), the margin
// when it is tiny (a well-fit model, where one hard batch is easily 3x the median). One such batch can still be
// bad luck; divergenceStreak of them in a row is a run going wrong (exploding weights give losses of tens to
// thousands; flipped labels on a fitted 2-class model gave 1.7 against a median of 0.3).
const (
	divergenceWindow  = 50
	divergenceMinimum = 10 // batch losses seen before judging
	divergenceFactor  = 3
	divergenceStreak  = 3
	smoothWindow      = 10
)

// divergence follows the batch losses of a run.
type divergence struct {
	margin float64 // ln(C)
	recent []float64
	streak int
}

func newDivergence(classes int) *divergence {
	return &divergence{margin: math.Log(float64(max(classes, 2)))}
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

// smoothed is the median of the last smoothWindow batch losses: the smoothed training loss that picks the best
// checkpoint (NaN before any loss). A window of 10 follows the descent closely and still ignores a bad batch.
func (d *divergence) smoothed() float64 {
	if d == nil || len(d.recent) == 0 {
		return math.NaN()
	}
	return medianOf(d.recent[max(len(d.recent)-smoothWindow, 0):])
}

// median of the recent losses (NaN before any).
func (d *divergence) median() float64 {
	if d == nil || len(d.recent) == 0 {
		return math.NaN()
	}
	return medianOf(d.recent)
}

func medianOf(x []float64) float64 {
	s := slices.Clone(x)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// sane tells whether the latest batch losses look sane: no far loss pending.
func (d *divergence) sane() bool { return d == nil || d.streak == 0 }
