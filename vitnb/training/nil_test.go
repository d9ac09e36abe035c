package training

import (
	"fmt"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/ml/model"
	"github.com/vitnb/vitnb/datasets/datasetstest"
)

// TestNilArguments: a nil Run, Metrics, store or backend gives an error naming it (or nothing, for Close and a
// progress bar without a writer) instead of a panic or GoMLX's logged stack trace (issue 24, item 5).
func TestNilArguments(t *testing.T) {
	b := testBackend(t)
	cfg := tinyModel()
	var run *Run
	var metrics *Metrics
	for _, tc := range []struct {
		name string
		f    func() error
	}{
		{"(*Run)(nil).Train", func() error { return run.Train(&stripes{batch: 2, batches: 1}) }},
		{"(*Metrics)(nil).WriteTable", func() error { return metrics.WriteTable(&strings.Builder{}, "d", nil) }},
		{"CheckModel(nil store)", func() error { return CheckModel(nil, cfg) }},
		{"CheckFineTune(nil store)", func() error { return CheckFineTune(nil, cfg, "src") }},
		{"InitFromStore(nil store)", func() error { return InitFromStore(nil, cfg, "src", nil)(model.NewStore()) }},
		{"InitFromStore(...)(nil store)", func() error { return InitFromStore(model.NewStore(), cfg, "src", nil)(nil) }},
		{"Evaluate(nil store)", func() error { _, err := Evaluate(b, nil, cfg, &stripes{batch: 2, batches: 1}); return err }},
		{"Representations(nil store)", func() error { _, err := Representations(b, nil, cfg, &stripes{batch: 2, batches: 1}); return err }},
		{"NewEvalExec(nil store)", func() error { _, err := NewEvalExec(b, nil, cfg); return err }},
		{"NewEvalExec(nil backend)", func() error { _, err := NewEvalExec(nil, model.NewStore(), cfg); return err }},
	} {
		// The error says what is nil, before GoMLX is called (it logs a stack trace for a nil store).
		if err := datasetstest.NoPanic(t, tc.name, tc.f); err == nil || !strings.Contains(err.Error(), "nil") {
			t.Errorf("%s: %v, want an error naming what is nil", tc.name, err)
		}
	}
	if err := datasetstest.NoPanic(t, "(*Run)(nil).Close", run.Close); err != nil {
		t.Errorf("(*Run)(nil).Close: %v", err)
	}
	if err := datasetstest.NoPanic(t, "ModelShapes(nil)", func() error {
		if s := ModelShapes(nil); len(s) != 0 {
			return fmt.Errorf("%v", s)
		}
		return nil
	}); err != nil {
		t.Errorf("ModelShapes(nil): %v", err)
	}
	if err := datasetstest.NoPanic(t, "TerminalProgress(nil)", func() error {
		p := TerminalProgress(nil)
		p(Progress{Step: 1, Total: 1})
		return nil
	}); err != nil {
		t.Errorf("TerminalProgress(nil): %v", err)
	}
}
