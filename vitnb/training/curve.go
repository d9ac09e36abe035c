package training

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
)

// MetricsFile is the training log of a run folder: one StepRecord as JSON per line.
const MetricsFile = "metrics.jsonl"

// ReadCurve reads the training log of a run folder, sorted by step and without repeats: a resumed run logs again
// the steps after its last checkpoint, and the later record of a step wins. A folder without a log gives none.
func ReadCurve(dir string) ([]StepRecord, error) {
	path := filepath.Join(dir, MetricsFile)
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	byStep := map[int]StepRecord{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for line := 1; sc.Scan(); line++ {
		var r StepRecord
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return nil, fmt.Errorf("%s line %d: %w", path, line, err)
		}
		if r.Eval != nil {
			if err := r.Eval.check(); err != nil {
				return nil, fmt.Errorf("%s line %d: %w", path, line, err)
			}
		}
		byStep[r.Step] = r
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	out := make([]StepRecord, 0, len(byStep))
	for _, r := range byStep {
		out = append(out, r)
	}
	sort.Slice(out, func(a, b int) bool { return out[a].Step < out[b].Step })
	return out, nil
}
