package training

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// snapshot returns every file under dir (relative path to content; folders as "dir/"), to tell that nothing
// was written, replaced or deleted.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		if d.IsDir() {
			files[rel+"/"] = ""
			return nil
		}
		data, err := os.ReadFile(path)
		files[rel] = string(data)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func sameFiles(t *testing.T, what string, before, after map[string]string) {
	t.Helper()
	for name, content := range before {
		if got, ok := after[name]; !ok {
			t.Errorf("%s: %s was deleted", what, name)
		} else if got != content {
			t.Errorf("%s: %s was changed to %q", what, name, got)
		}
	}
	for name := range after {
		if _, ok := before[name]; !ok {
			t.Errorf("%s: %s was written", what, name)
		}
	}
}

// TestRunRefusesForeignFolder: a run folder that holds files vitnb did not write is refused in one line naming a
// file in the way, and nothing in it is written, replaced or deleted, with or without Resume. Before, a run
// overwrote config.json, model.json and results.json of a user's project and deleted .staging/thesis.tex.
func TestRunRefusesForeignFolder(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"project", map[string]string{"config.json": `{"title": "my thesis"}`, "model.json": `{"mine": 1}`,
			"results.json": `{"chapter": 3}`, ".staging/thesis.tex": `\documentclass{book}`}, "holds config.json,"},
		{"timm", map[string]string{"config.json": `{"architecture": "vit_tiny_patch16_224", "num_classes": 10}`,
			"model.safetensors": "weights"}, "holds config.json,"},
		{"notes", map[string]string{"notes.txt": "mine"}, "holds notes.txt,"},
		{"foreign run.json", map[string]string{"run.json": `{"name": "a race"}`}, "holds run.json,"},
	} {
		dir := t.TempDir()
		writeFiles(t, dir, tc.files)
		before := snapshot(t, dir)
		for _, resume := range []bool{false, true} {
			cfg := Config{Model: tinyModel(), BatchSize: 16, Dir: dir, Output: io.Discard, Resume: resume,
				Optimizer: OptimizerConfig{LearningRate: 1e-3, TotalSteps: 2}}
			r, err := NewRun(testBackend(t), cfg)
			if err == nil {
				_ = r.Close()
				t.Fatalf("%s: a run started in a folder holding %v", tc.name, tc.files)
			}
			msg := err.Error()
			if !errors.Is(err, ErrNotRunFolder) || !strings.Contains(msg, dir) || !strings.Contains(msg, tc.want) ||
				strings.Contains(msg, "\n") {
				t.Errorf("%s: got %q, want one line naming %s and %q", tc.name, msg, dir, tc.want)
			}
			sameFiles(t, tc.name, before, snapshot(t, dir))
			if err := ClearRun(dir); !errors.Is(err, ErrNotRunFolder) {
				t.Errorf("%s: ClearRun of a foreign folder: %v", tc.name, err)
			}
			sameFiles(t, tc.name+" (ClearRun)", before, snapshot(t, dir))
		}
	}
	file := filepath.Join(t.TempDir(), "file")
	writeFiles(t, filepath.Dir(file), map[string]string{"file": "x"})
	if err := CheckOwnDir(file); err == nil || !strings.Contains(err.Error(), "not a folder") {
		t.Errorf("a file as run folder: %v", err)
	}
}

// TestRunFolderOwnership: a new folder and an empty one become vitnb's (OwnerFile); a folder that carries it takes
// a run whatever else it holds, and so does a run folder of an earlier vitnb without it (recognised by its
// run.json or a checkpoint), which is marked then. Stale staged checkpoints are removed, other files in .staging
// are not.
func TestRunFolderOwnership(t *testing.T) {
	root := t.TempDir()
	earlierDesc := `{"optimizer": {"Kind": "adamw"}, "batch_size": 16, "seed": 1}`
	for name, files := range map[string]map[string]string{
		"new":   nil,
		"empty": {},
		"marked": {OwnerFile: "{}", "notes.txt": "mine", ".staging/keep.txt": "mine",
			".staging/checkpoint-n0000001-step-00000001.json": "stale"},
		"earlier run.json":   {"config.json": "{}", RunFile: earlierDesc, MetricsFile: ""},
		"earlier checkpoint": {"config.json": "{}", "checkpoint-n0000001-20261124-step-00000100.json": "{}"},
	} {
		dir := filepath.Join(root, strings.ReplaceAll(name, " ", "-"))
		if files != nil {
			if err := os.Mkdir(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			writeFiles(t, dir, files)
		}
		if err := CheckOwnDir(dir); err != nil {
			t.Errorf("%s: CheckOwnDir: %v", name, err)
		}
		if err := ClaimDir(dir); err != nil {
			t.Errorf("%s: ClaimDir: %v", name, err)
			continue
		}
		if _, err := os.Stat(filepath.Join(dir, OwnerFile)); err != nil {
			t.Errorf("%s: not marked: %v", name, err)
		}
		for f, content := range files {
			if got, err := os.ReadFile(filepath.Join(dir, f)); err != nil || string(got) != content {
				t.Errorf("%s: ClaimDir changed %s: %q, %v", name, f, got, err)
			}
		}
	}
	// Staging: only the files of an interrupted save go.
	dir := filepath.Join(root, "marked")
	c, err := openCheckpoints(dir, 3)
	if err != nil {
		t.Fatal(err)
	}
	_ = c
	if _, err := os.Stat(filepath.Join(dir, ".staging", "keep.txt")); err != nil {
		t.Errorf(".staging/keep.txt was deleted: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, ".staging", "checkpoint-n0000001-step-00000001.json")); err == nil {
		t.Error("a stale staged checkpoint was kept")
	}
}

// TestClearRun: ClearRun deletes the files of a run and nothing else: the user's notes stay, and so do OwnerFile
// and the lock file; a run that holds the folder keeps it. Before, a fresh run emptied the whole folder
// (os.RemoveAll).
func TestClearRun(t *testing.T) {
	dir := t.TempDir()
	run := map[string]string{"config.json": "{}", RunFile: "{}", MetricsFile: "", "model.json": "{}",
		ResultsFile: "{}", "results-eval-mnist-test.json": "{}", CheckpointMarksFile: "{}",
		"checkpoint-n0000010-step-00000010.json": "{}", "checkpoint-n0000010-step-00000010.bin": "",
		"diverged-checkpoint-n0000020-step-00000020.json": "{}", ".staging/checkpoint-n0000030-step-00000030.bin": ""}
	mine := map[string]string{"notes.txt": "mine", "attention.png": "png", ".staging/keep.txt": "mine"}
	if err := ClaimDir(dir); err != nil {
		t.Fatal(err)
	}
	writeFiles(t, dir, run)
	writeFiles(t, dir, mine)
	held, err := lockDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := ClearRun(dir); !errors.Is(err, ErrLocked) {
		t.Errorf("ClearRun of a folder in use: %v, want the lock error", err)
	}
	if _, err := os.Stat(filepath.Join(dir, ResultsFile)); err != nil {
		t.Errorf("ClearRun of a folder in use deleted its results: %v", err)
	}
	if err := held.release(); err != nil {
		t.Fatal(err)
	}
	if err := ClearRun(dir); err != nil {
		t.Fatal(err)
	}
	after := snapshot(t, dir)
	for f := range run {
		if _, ok := after[f]; ok {
			t.Errorf("ClearRun kept %s", f)
		}
	}
	for f, content := range mine {
		if after[f] != content {
			t.Errorf("ClearRun changed or deleted %s", f)
		}
	}
	for _, f := range []string{OwnerFile, LockFile} {
		if _, ok := after[f]; !ok {
			t.Errorf("ClearRun deleted %s", f)
		}
	}
	if err := ClearRun(filepath.Join(dir, "none")); err != nil {
		t.Errorf("ClearRun of no folder: %v", err)
	}
}
