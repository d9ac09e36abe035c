package vitnb

import (
	"fmt"
	"math"
	"strings"
)

// backendError is an error of GoMLX shortened for people: its message is the cause, its chain the whole error.
type backendError struct {
	msg string
	err error
}

func (e backendError) Error() string { return e.msg }

func (e backendError) Unwrap() error { return e.err }

// backendMarkers end the parts of GoMLX's messages that name its own generated functions
// ("failed to execute graph \"Store.Exec:.../model.convertExecFn[...].func40#1\": Graph failed to execute: executing
// FusedSoftmax: ...", "convertExecFn[...].func13 panicked: ..."): what follows the last one is the cause.
var backendMarkers = []string{"panicked: ", "Graph failed to execute: ", "executing "}

// PlainBackendError returns err (of GoMLX building or running a graph) with a message that keeps only its cause,
// on one line: the operation that failed and why ("FusedSoftmax: dtype Float16: op not implemented"), without
// GoMLX's names of generated functions or a stack trace. errors.Is and errors.As still see the original error;
// nil stays nil.
func PlainBackendError(err error) error {
	if err == nil {
		return nil
	}
	msg, _, _ := strings.Cut(err.Error(), "\n")
	for {
		cut := -1
		for _, m := range backendMarkers {
			if i := strings.Index(msg, m); i >= 0 && (cut < 0 || i < cut) {
				cut = i + len(m)
			}
		}
		if cut < 0 || cut == len(msg) {
			break
		}
		msg = msg[cut:]
	}
	return backendError{msg: strings.TrimSpace(msg), err: err}
}

// CheckInput returns an error naming the first value of pix (images of per values each, the model's input, the
// first of them image number first) that is NaN or infinite, nil when all are finite: such an input gives NaN
// logits, which would read as broken weights.
func CheckInput(pix []float32, per, first int) error {
	for i, v := range pix {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			per = max(per, 1)
			return fmt.Errorf("the input of image %d holds %g (value %d of its %d): the input must be finite", first+i/per, v, i%per, per)
		}
	}
	return nil
}
