package classifier

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/vitnb/vitnb/datasets/datasetstest"
	"github.com/vitnb/vitnb/vitnb/training"
)

// TestTrainFreshKeepsForeignFolder: a fresh run (the notebooks' Fresh) into a folder of the user's is refused and
// the folder is left whole. Before, Fresh emptied it (os.RemoveAll) and trained there.
func TestTrainFreshKeepsForeignFolder(t *testing.T) {
	data := datasetstest.WriteFolder(t, 4, false)
	dir := t.TempDir()
	mine := filepath.Join(dir, "thesis.tex")
	if err := os.WriteFile(mine, []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, o := range []TrainOptions{{Fresh: true}, {Resume: true}, {}} {
		_, err := Train(newBackend(t), tinyJob(data, dir, 20), o)
		if !errors.Is(err, training.ErrNotRunFolder) {
			t.Errorf("Train %+v into a folder of the user's: %v, want a refusal", o, err)
		}
		entries, _ := os.ReadDir(dir)
		if got, err := os.ReadFile(mine); err != nil || string(got) != "mine" || len(entries) != 1 {
			t.Fatalf("Train %+v changed the folder: %v, %d entries", o, err, len(entries))
		}
	}
}
