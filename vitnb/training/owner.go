package training

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/gomlx/gomlx/ml/model/checkpoint"

	"github.com/vitnb/vitnb/vitnb/files"
)

// OwnerFile marks a folder as a vitnb run folder: the first file vitnb writes when it makes a run folder (ClaimDir).
// vitnb writes, overwrites and deletes files only in a folder that carries it.
const OwnerFile = ".vitnb-run"

// ErrNotRunFolder is wrapped by the error of ClaimDir and CheckOwnDir for a folder that holds files vitnb did not
// write.
var ErrNotRunFolder = errors.New("not a vitnb run folder")

// runFiles are the names vitnb writes in a run folder (besides checkpoints and results-*.json), in the order in
// which a file in the way is named.
var runFiles = []string{"config.json", RunFile, MetricsFile, "model.json", ResultsFile, CheckpointMarksFile, LockFile, ".staging"}

// ownerRecord is the content of OwnerFile.
type ownerRecord struct {
	Note    string    `json:"note"`
	Created time.Time `json:"created"`
}

// CheckOwnDir tells whether vitnb may write a run into dir without claiming it yet: nil when dir does not exist, is
// empty, carries OwnerFile or is a run folder of an earlier vitnb (which had no OwnerFile: it holds a run.json of
// vitnb's or a GoMLX checkpoint). Anything else is an error (wrapping ErrNotRunFolder) naming a file in the way.
func CheckOwnDir(dir string) error {
	_, err := ownState(dir)
	return err
}

// ClaimDir makes dir a run folder of vitnb's, creating it if needed and writing OwnerFile into it, when CheckOwnDir
// allows it; otherwise it returns CheckOwnDir's error and touches nothing.
func ClaimDir(dir string) error {
	marked, err := ownState(dir)
	if err != nil || marked {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("creating the run folder: %w", err)
	}
	return WriteJSONAtomic(filepath.Join(dir, OwnerFile), ownerRecord{
		Note:    "a vitnb run folder: vitnb writes and deletes its files here",
		Created: time.Now().UTC().Truncate(time.Second)})
}

// ownState says whether dir carries OwnerFile, or the error of CheckOwnDir.
func ownState(dir string) (marked bool, err error) {
	if err := files.CheckCache(dir); err != nil { // the notebooks' runs, without $HOME
		return false, err
	}
	st, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("run folder %s: %w", dir, err)
	case !st.IsDir():
		return false, fmt.Errorf("run folder %s: it is a file, not a folder", dir)
	}
	if st, err := os.Lstat(filepath.Join(dir, OwnerFile)); err == nil && st.Mode().IsRegular() {
		return true, nil
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return false, fmt.Errorf("run folder %s: %w", dir, err)
	}
	if len(entries) == 0 || isEarlierRun(dir, entries) {
		return false, nil
	}
	names := make([]string, len(entries))
	for i, e := range entries {
		names[i] = e.Name()
	}
	inTheWay := names[0] // ReadDir sorts by name
	if i := slices.IndexFunc(runFiles, func(n string) bool { return slices.Contains(names, n) }); i >= 0 {
		inTheWay = runFiles[i]
	}
	return false, fmt.Errorf("%w: %s holds %s, which vitnb did not write (a run folder is new, empty or made by vitnb): "+
		"choose another folder", ErrNotRunFolder, dir, inTheWay)
}

// isEarlierRun recognises a run folder made by a vitnb from before OwnerFile: it holds a run.json that describes a
// vitnb training (optimizer and batch size) or a GoMLX checkpoint's metadata (checkpoint-n*.json, the names of
// every vitnb version).
func isEarlierRun(dir string, entries []fs.DirEntry) bool {
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, "checkpoint-n") && strings.HasSuffix(name, checkpoint.JsonNameSuffix) && e.Type().IsRegular() {
			return true
		}
	}
	path := filepath.Join(dir, RunFile)
	if st, err := os.Lstat(path); err != nil || !st.Mode().IsRegular() || st.Size() > 1<<20 {
		return false // a run.json of vitnb's is a small regular file
	}
	var desc map[string]json.RawMessage
	if data, err := os.ReadFile(path); err != nil || json.Unmarshal(data, &desc) != nil {
		return false
	}
	_, opt := desc["optimizer"]
	_, batch := desc["batch_size"]
	return opt && batch
}

// ClearRun deletes the files of the run in dir (checkpoints, metrics, descriptions, results) while holding the run's
// lock, so that a new run can start there. Files vitnb did not write stay, and so do OwnerFile and the lock file. A
// folder that is not vitnb's (CheckOwnDir) is refused and left as it is, and so is one in use by another run; a
// folder that does not exist is no error.
func ClearRun(dir string) error {
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err := ClaimDir(dir); err != nil {
		return err
	}
	lock, err := lockDir(dir)
	if err != nil {
		return err
	}
	defer func() { _ = lock.release() }()
	for _, sub := range []string{dir, filepath.Join(dir, ".staging")} {
		entries, err := os.ReadDir(sub)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("clearing the run in %s: %w", dir, err)
		}
		for _, e := range entries {
			if !e.Type().IsRegular() || !isRunFile(e.Name()) {
				continue
			}
			if err := os.Remove(filepath.Join(sub, e.Name())); err != nil {
				return fmt.Errorf("clearing the run in %s: %w", dir, err)
			}
		}
	}
	return nil
}

// isRunFile tells the files of a run that ClearRun deletes: those of runFiles but the lock, checkpoints (set aside
// as diverged too) and results files.
func isRunFile(name string) bool {
	if name == LockFile || name == OwnerFile {
		return false
	}
	return slices.Contains(runFiles, name) || IsResultsFile(name) ||
		strings.HasPrefix(strings.TrimPrefix(name, DivergedPrefix), "checkpoint-")
}
