package training

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/vitnb/vitnb/vitnb/files"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
)

// RunFile is the file of a run folder that holds the run's Description.
const RunFile = "run.json"

// Description is what run.json holds: the fields of a Config that decide the training (the model has its own
// file, config.json) and the caller's Settings. Operational fields (Dir, CheckpointEvery, Keep, LogEvery,
// Progress, Output, Devices) may change between a run and its resumption and are left out.
type Description struct {
	Optimizer      OptimizerConfig `json:"optimizer"`
	BatchSize      int             `json:"batch_size"`
	Accumulate     int             `json:"accumulate"`
	LabelSmoothing float64         `json:"label_smoothing"`
	Seed           int64           `json:"seed"`
	Settings       any             `json:"settings,omitempty"`
}

// Description returns the description of the run that cfg configures (see Description).
func (c Config) Description() Description {
	return Description{Optimizer: c.Optimizer, BatchSize: c.BatchSize, Accumulate: max(c.Accumulate, 1),
		LabelSmoothing: c.LabelSmoothing, Seed: c.Seed, Settings: c.Settings}
}

// ReadDescription reads run.json of a run folder; a folder made before run.json existed gives fs.ErrNotExist.
func ReadDescription(dir string) (map[string]any, error) {
	data, err := files.ReadSidecar(filepath.Join(dir, RunFile))
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, RunFile), err)
	}
	return m, nil
}

func writeDescription(dir string, d Description) error {
	return WriteJSONAtomic(filepath.Join(dir, RunFile), d)
}

// CheckDescription compares the run.json of the run folder dir with cfg's description (Config.Description), as a
// resumed run does, without opening the run: the changed fields that overrides cover, a line each, or an error
// naming every other change. A folder without run.json gives no lines but a note saying so.
func CheckDescription(dir string, cfg Config) (accepted []string, note string, err error) {
	cfg.Optimizer = cfg.Optimizer.WithDefaults()
	cfg.Accumulate = max(cfg.Accumulate, 1)
	return checkDescription(dir, cfg.Description(), cfg.Overrides)
}

// checkDescription compares the description stored in dir with d. Each changed field that overrides covers gives
// a line for the output ("overriding settings.lr: 0.001 -> 0.002"); any other is an error naming every such field
// with its stored and new values. An override that names no field is an error too. A folder without run.json (a
// run of an older vitnb) gives a note instead.
func checkDescription(dir string, d Description, overrides []string) (accepted []string, note string, err error) {
	stored, err := ReadDescription(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Sprintf("%s has no %s (a run of an older vitnb): its settings cannot be compared; recording them now", dir, RunFile), nil
	}
	if err != nil {
		return nil, "", err
	}
	old := flatten(stored)
	now, err := flattenValue(d)
	if err != nil {
		return nil, "", fmt.Errorf("describing the run as JSON: %w", err)
	}
	for _, o := range overrides {
		if !slices.ContainsFunc(append(keys(old), keys(now)...), func(p string) bool { return covers(o, p) }) {
			return nil, "", fmt.Errorf("override %q names no field of the run's description (%s): fields are %s",
				o, RunFile, strings.Join(keys(now), ", "))
		}
	}
	var refused []string
	paths := keys(old)
	for _, p := range keys(now) {
		if _, ok := old[p]; !ok {
			paths = append(paths, p)
		}
	}
	for _, p := range paths {
		a, b := show(old, p), show(now, p)
		if top, ok := strings.CutPrefix(p, "settings."); a == b || ok && show(old, top) == a && show(now, top) == b {
			continue // unchanged, or said once already: the job's settings repeat the optimizer's fields
		}
		if slices.ContainsFunc(overrides, func(o string) bool { return covers(o, p) }) {
			accepted = append(accepted, fmt.Sprintf("overriding %s: %s -> %s", p, a, b))
			continue
		}
		refused = append(refused, fmt.Sprintf("%s was %s, now %s", p, a, b))
	}
	if len(refused) > 0 {
		return nil, "", fmt.Errorf("resuming %s with other settings than it was started with: %s (name each change that is meant in an override)",
			dir, strings.Join(refused, "; "))
	}
	return accepted, "", nil
}

// covers tells whether the override o allows a change of the field at path p.
func covers(o, p string) bool {
	for _, full := range []string{o, "settings." + o} {
		if p == full || strings.HasPrefix(p, full+".") {
			return true
		}
	}
	return false
}

// flattenValue turns v into its JSON leaves by dotted path (see flatten).
func flattenValue(v any) (map[string]string, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var m any
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	out := map[string]string{}
	walk(m, "", out)
	return out, nil
}

// flatten turns a decoded JSON object into its leaves: path (keys joined by dots) to the leaf's JSON text;
// arrays are leaves.
func flatten(m map[string]any) map[string]string {
	out, _ := flattenValue(m)
	return out
}

func walk(v any, path string, out map[string]string) {
	if obj, ok := v.(map[string]any); ok && len(obj) > 0 {
		for k, x := range obj {
			p := k
			if path != "" {
				p = path + "." + k
			}
			walk(x, p, out)
		}
		return
	}
	data, _ := json.Marshal(v)
	out[path] = string(data)
}

func keys(m map[string]string) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

func show(m map[string]string, p string) string {
	if v, ok := m[p]; ok {
		return v
	}
	return "(absent)"
}
