package training

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/model/checkpoint"
	"github.com/gomlx/gomlx/ml/train/optimizer"

	"github.com/vitnb/vitnb/vitnb"
	"github.com/vitnb/vitnb/vitnb/files"
)

// checkpoints writes GoMLX checkpoints atomically: GoMLX's handler writes its .bin and .json files in place, so
// a run killed while saving would leave a truncated newest checkpoint. Here each checkpoint is written into the
// staging folder ".staging" and then renamed into the directory, data file first and metadata (.json, which is
// what GoMLX lists) last. A checkpoint is thus either complete or absent; stale staging files are removed.
//
// Rotation keeps the newest keep checkpoints plus two that it never deletes, recorded in checkpoints.json: the
// best (lowest smoothed training loss when saved) and the last sane one (see Run.Train for what sane means).
type checkpoints struct {
	dir, staging string
	keep         int
	handler      *checkpoint.Handler
	// exclude are the variables left out of checkpoints (per-run progress metrics), set on the first save.
	exclude func(path string) bool
	marks   checkpointMarks
	// last is the checkpoint saved last by this process.
	last CheckpointInfo
}

// CheckpointMarksFile is the file in a run folder that names the best and the last sane checkpoints.
const CheckpointMarksFile = "checkpoints.json"

// CheckpointMark names one checkpoint with its step and smoothed training loss.
type CheckpointMark struct {
	Name string  `json:"name"`
	Step int     `json:"step"`
	Loss float64 `json:"smoothed_loss"`
}

// checkpointMarks is the content of checkpoints.json.
type checkpointMarks struct {
	Best     *CheckpointMark `json:"best,omitempty"`
	LastSane *CheckpointMark `json:"last_sane,omitempty"`
}

func openCheckpoints(dir string, keep int) (*checkpoints, error) {
	staging := filepath.Join(dir, ".staging")
	if err := os.MkdirAll(staging, 0o755); err != nil {
		return nil, fmt.Errorf("creating the checkpoint directory: %w", err)
	}
	// The files of a save that was interrupted are removed (GoMLX's handler would load them), and only they:
	// nothing that vitnb did not write is ever deleted.
	staged, err := os.ReadDir(staging)
	if err != nil {
		return nil, fmt.Errorf("cleaning %s: %w", staging, err)
	}
	for _, e := range staged {
		if strings.HasPrefix(e.Name(), "checkpoint-") && e.Type().IsRegular() {
			if err := os.Remove(filepath.Join(staging, e.Name())); err != nil {
				return nil, fmt.Errorf("cleaning %s: %w", staging, err)
			}
		}
	}
	c := &checkpoints{dir: dir, staging: staging, keep: keep, exclude: isProgressMetric}
	if data, err := files.ReadSidecar(filepath.Join(dir, CheckpointMarksFile)); err == nil {
		if err := json.Unmarshal(data, &c.marks); err != nil {
			return nil, fmt.Errorf("%s: %w", filepath.Join(dir, CheckpointMarksFile), err)
		}
	}
	return c, nil
}

// isProgressMetric tells the variables of GoMLX's moving-average metrics, which are per-run progress figures
// under names with a fresh UUID each run ("/metrics/Moving Average Loss_uuid_.../mean"): saving them made each
// resume add variables to the checkpoint.
func isProgressMetric(path string) bool { return strings.HasPrefix(path, "/metrics/") }

// list returns the base names of the complete checkpoints, oldest first.
func (c *checkpoints) list() ([]string, error) {
	return listCheckpoints(c.dir)
}

func listCheckpoints(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("listing checkpoints in %s: %w", dir, err)
	}
	var names []string
	for _, e := range entries {
		if base, ok := strings.CutSuffix(e.Name(), checkpoint.JsonNameSuffix); ok && strings.HasPrefix(base, "checkpoint-") {
			names = append(names, base)
		}
	}
	sort.Strings(names) // Names sort by step (see save).
	return names, nil
}

func (c *checkpoints) has() (bool, error) {
	names, err := c.list()
	return len(names) > 0, err
}

// CheckpointInfo names the checkpoint of a run folder that a store was loaded from.
type CheckpointInfo struct {
	// Name is the checkpoint's base name in the run folder (its .json and .bin files), e.g.
	// "checkpoint-n0000060-step-00000060".
	Name string
	// Step is the training step it was saved at (the global step it holds).
	Step int
	// Fallback says in one line which newer checkpoints could not be read, and why, when an older one was
	// loaded instead ("" when the newest was read).
	Fallback string
}

// loadNewest loads the newest checkpoint of dir that can be read, falling back to older ones (which the
// returned Fallback says).
func loadNewest(dir string, store *model.Store) (CheckpointInfo, error) {
	names, err := listCheckpoints(dir)
	if err != nil {
		return CheckpointInfo{}, err
	}
	var failures []string
	for _, base := range dataWithoutMetadata(dir, names) {
		failures = append(failures, fmt.Sprintf("checkpoint %s cannot be read (its data file has no metadata %s: an interrupted save, or a removed file)",
			base, base+checkpoint.JsonNameSuffix))
	}
	if len(names) == 0 {
		if len(failures) > 0 {
			return CheckpointInfo{}, fmt.Errorf("no checkpoint of %s can be read: %s", dir, strings.Join(failures, "; "))
		}
		return CheckpointInfo{}, fmt.Errorf("%s holds no checkpoint", dir)
	}
	for i := len(names) - 1; i >= 0; i-- {
		err := loadCheckpointFile(dir, names[i], store)
		if err == nil {
			ck := CheckpointInfo{Name: names[i], Step: int(optimizer.GetGlobalStep(store))}
			if len(failures) > 0 {
				ck.Fallback = fmt.Sprintf("%s; falling back to %s (step %d)", strings.Join(failures, "; "), names[i], ck.Step)
			}
			return ck, nil
		}
		failures = append(failures, fmt.Sprintf("checkpoint %s cannot be read (%v)", names[i], oneLine(err)))
	}
	return CheckpointInfo{}, fmt.Errorf("no checkpoint of %s can be read: %s", dir, strings.Join(failures, "; "))
}

// dataWithoutMetadata returns, newest first, the base names of the checkpoint data files of dir newer than the
// newest complete checkpoint of names that have no metadata beside them: save publishes the metadata last, so
// such a file is a save that did not finish, or a checkpoint whose metadata was removed, and loading an older one
// instead must be said.
func dataWithoutMetadata(dir string, names []string) []string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	newest := ""
	if len(names) > 0 {
		newest = names[len(names)-1]
	}
	var orphans []string
	for _, e := range entries {
		base, ok := strings.CutSuffix(e.Name(), checkpoint.BinDataSuffix)
		if ok && strings.HasPrefix(base, "checkpoint-") && base > newest && !slices.Contains(names, base) {
			orphans = append(orphans, base)
		}
	}
	sort.Sort(sort.Reverse(sort.StringSlice(orphans)))
	return orphans
}

// loadCheckpointFile loads one checkpoint (base name, without suffix) into store, creating its variables in the
// order they were saved, which is the order a fresh run created them in. GoMLX's own loader creates them in map
// order, a different one each resume, and the training graph is built in variable order (the gradients, and
// their global norm for clipping summed over the variables in that order), so a resumed run differed from an
// uninterrupted one in the last bits, which Adam grew to 1e-7 in the weights and 9e-5 in a bias (measured here:
// 3 runs of TestResumeBitExact in 12 differed in 66 of 73 variables with map order, none with saved order). Progress metrics are
// left out (isProgressMetric). The sizes in the metadata are checked against the data file before any tensor is
// allocated.
func loadCheckpointFile(dir, base string, store *model.Store) error {
	meta, err := files.ReadSidecar(filepath.Join(dir, base+checkpoint.JsonNameSuffix))
	if err != nil {
		return err
	}
	var header struct {
		Variables []struct {
			ParameterName string
			Dimensions    []int
			DType         dtypes.DType
			Pos, Length   int
		}
	}
	if err := json.Unmarshal(meta, &header); err != nil {
		return fmt.Errorf("metadata %s: %w", base+checkpoint.JsonNameSuffix, err)
	}
	binPath := filepath.Join(dir, base+checkpoint.BinDataSuffix)
	total, err := checkpointSize(header.Variables)
	if err != nil {
		return fmt.Errorf("%s: %w", binPath, err)
	}
	if avail, source, ok := files.HostMemory(); ok {
		if err := files.NotEnoughMemory(2*float64(total), avail, source, binPath+": its variables and their copy",
			"this checkpoint cannot be loaded here"); err != nil {
			return err
		}
	}
	bin, err := files.ReadLimited(binPath, maxDataFileSize(total))
	if err != nil {
		return err
	}
	if bin, err = uncompressCheckpoint(bin, total); err != nil {
		return fmt.Errorf("%s: %w", binPath, err)
	}
	if total != len(bin) {
		return fmt.Errorf("%s: the metadata lists %d bytes of variables, the data file holds %d (truncated?)", binPath, total, len(bin))
	}
	tmp := model.NewStore()
	err = catch(func() {
		_, err := checkpoint.Build(tmp).FromEmbed(string(meta), bin).Immediate().ExcludeAllParams().Done()
		if err != nil {
			panic(err)
		}
	})
	if err != nil {
		return err
	}
	for _, v := range header.Variables {
		path := strings.TrimPrefix(v.ParameterName, "var:")
		if isProgressMetric(path) {
			continue
		}
		loaded := tmp.GetVariable(path)
		if loaded == nil {
			return fmt.Errorf("variable %s listed but not loaded", path)
		}
		dst := store.GetVariable(path)
		if dst != nil {
			if err := dst.SetValue(loaded.MustValue()); err != nil {
				return fmt.Errorf("variable %s: %w", path, err)
			}
			continue
		}
		if _, err := store.CreateVariable(path, loaded.MustValue()); err != nil {
			return fmt.Errorf("variable %s: %w", path, err)
		}
	}
	return nil
}

// checkpointSize checks the variable list of a checkpoint's metadata (positions in order, lengths equal to the
// shapes' sizes, no overflow) and returns the number of bytes of data it describes.
func checkpointSize(vars []struct {
	ParameterName string
	Dimensions    []int
	DType         dtypes.DType
	Pos, Length   int
}) (int, error) {
	pos := 0
	for _, v := range vars {
		n := v.DType.Size()
		for _, d := range v.Dimensions {
			if d < 0 || (d > 0 && n > math.MaxInt/d) {
				return 0, fmt.Errorf("variable %s has dimensions %v", v.ParameterName, v.Dimensions)
			}
			n *= d
		}
		if v.Pos != pos || v.Length != n {
			return 0, fmt.Errorf("variable %s: %d bytes at %d in the metadata, want %d bytes (shape %v %s) at %d",
				v.ParameterName, v.Length, v.Pos, n, v.Dimensions, v.DType, pos)
		}
		if pos > math.MaxInt-n {
			return 0, fmt.Errorf("variable sizes overflow")
		}
		pos += n
	}
	return pos, nil
}

// maxDataFileSize bounds the data file of a checkpoint whose metadata lists total bytes of variables: the bytes
// themselves, or their gzip stream, which deflate keeps within 5 bytes per 64 KiB stored block of its input (a
// tenth of the 1/1024 allowed here), plus the headers. Anything larger (a link to /dev/zero, a file that grows)
// is refused before it is read whole.
func maxDataFileSize(total int) int64 {
	return int64(total) + int64(total)/1024 + 4096
}

// gomlxBinHeader starts a compressed GoMLX checkpoint data file: the header, a length byte, the name of the
// compression and the compressed data (GoMLX's checkpoint.getLoadVarFilesFromReader).
const gomlxBinHeader = "gomlx_checkpointss"

// uncompressCheckpoint returns the variable bytes of a checkpoint data file, decompressing a gzip one with a bound:
// GoMLX reads a compressed file whole into memory, however large its content.
func uncompressCheckpoint(bin []byte, limit int) ([]byte, error) {
	if !bytes.HasPrefix(bin, []byte(gomlxBinHeader)) {
		return bin, nil
	}
	rest := bin[len(gomlxBinHeader):]
	if len(rest) < 1 || len(rest) < 1+int(rest[0]) {
		return nil, fmt.Errorf("compressed data file truncated in its header")
	}
	if kind := string(rest[1 : 1+int(rest[0])]); kind != "gzip" {
		return nil, fmt.Errorf("compression %q not supported", kind)
	}
	compressed := rest[1+int(rest[0]):]
	// Deflate expands at most about 1032:1: a claim beyond that is a lie, refused before inflating anything.
	if limit/1032 > len(compressed) {
		return nil, fmt.Errorf("the metadata lists %d bytes of variables, more than %d compressed bytes can hold", limit, len(compressed))
	}
	zr, err := gzip.NewReader(bytes.NewReader(compressed))
	if err != nil {
		return nil, fmt.Errorf("compressed data: %w", err)
	}
	data, err := io.ReadAll(io.LimitReader(zr, int64(limit)+1))
	if err != nil {
		return nil, fmt.Errorf("decompressing the data file (truncated?): %w", err)
	}
	return data, nil
}

// oneLine joins the lines of an error message.
func oneLine(err error) string {
	return strings.Join(strings.Fields(err.Error()), " ")
}

// save writes the store as a new checkpoint and keeps the newest c.keep, plus the best and the last sane ones.
// It refuses to save weights that are not finite: a diverged run must never replace a good checkpoint. loss is the
// smoothed training loss at this step (NaN if unknown) and sane whether the run looks sane (see Run.Train).
func (c *checkpoints) save(store *model.Store, loss float64, sane bool) error {
	if err := checkFinite(store); err != nil {
		return err
	}
	if c.handler == nil {
		var exclude []*model.Variable
		for v := range store.IterVariables() {
			if c.exclude(v.Path()) {
				exclude = append(exclude, v)
			}
		}
		h, err := checkpoint.Build(store).Dir(c.staging).ExcludeAllParams().ExcludeVars(exclude...).Keep(-1).Done()
		if err != nil {
			return fmt.Errorf("preparing checkpoints in %s: %w", c.staging, err)
		}
		c.handler = h
	}
	if err := c.handler.Save(); err != nil {
		return fmt.Errorf("saving a checkpoint: %w", err)
	}
	staged, err := os.ReadDir(c.staging)
	if err != nil {
		return err
	}
	// Data files first, metadata last: the checkpoint becomes visible only when complete.
	sort.Slice(staged, func(i, j int) bool {
		return !strings.HasSuffix(staged[i].Name(), checkpoint.JsonNameSuffix) &&
			strings.HasSuffix(staged[j].Name(), checkpoint.JsonNameSuffix)
	})
	// Published names carry the global step where GoMLX puts its counter, so that they sort (and GoMLX loads the
	// newest) by step across resumed runs.
	step := optimizer.GetGlobalStep(store)
	base := fmt.Sprintf("checkpoint-n%07d-step-%08d", step, step)
	for _, e := range staged {
		name := base + filepath.Ext(e.Name())
		if err := os.Rename(filepath.Join(c.staging, e.Name()), filepath.Join(c.dir, name)); err != nil {
			return fmt.Errorf("publishing checkpoint %s: %w", e.Name(), err)
		}
	}
	c.last = CheckpointInfo{Name: base, Step: int(step)}
	mark := &CheckpointMark{Name: base, Step: int(step), Loss: loss}
	changed := false
	if sane && !math.IsNaN(loss) {
		c.marks.LastSane, changed = mark, true
		if c.marks.Best == nil || loss < c.marks.Best.Loss {
			c.marks.Best = mark
		}
	}
	if changed {
		if err := WriteJSONAtomic(filepath.Join(c.dir, CheckpointMarksFile), c.marks); err != nil {
			return err
		}
	}
	return c.rotate()
}

// DivergedPrefix starts the names of the checkpoints that a run saved after its last sane one and before divergence
// stopped it: set aside so that a resumed run, eval and predict start from the last sane state, kept for a look.
const DivergedPrefix = "diverged-"

// setAsideDiverged renames the checkpoints newer than the last sane one (DivergedPrefix), when there is one, and
// says how many it set aside ("" for none), for the message of the stop.
func (c *checkpoints) setAsideDiverged() string {
	names, err := c.list()
	if err != nil || c.marks.LastSane == nil {
		return ""
	}
	n := 0
	for _, name := range names {
		if name <= c.marks.LastSane.Name { // names sort by step (see save)
			continue
		}
		for _, suffix := range []string{checkpoint.JsonNameSuffix, checkpoint.BinDataSuffix} {
			_ = os.Rename(filepath.Join(c.dir, name+suffix), filepath.Join(c.dir, DivergedPrefix+name+suffix))
		}
		n++
	}
	if n == 0 {
		return ""
	}
	return fmt.Sprintf(" (%d checkpoint(s) saved after it were set aside as %s*)", n, DivergedPrefix)
}

// rotate deletes the checkpoints older than the newest c.keep, except the best and the last sane ones.
func (c *checkpoints) rotate() error {
	names, err := c.list()
	if err != nil {
		return err
	}
	protected := map[string]bool{}
	for _, m := range []*CheckpointMark{c.marks.Best, c.marks.LastSane} {
		if m != nil {
			protected[m.Name] = true
		}
	}
	for _, name := range names[:max(len(names)-c.keep, 0)] {
		if protected[name] {
			continue
		}
		old := filepath.Join(c.dir, name)
		if err := os.Remove(old + checkpoint.JsonNameSuffix); err != nil {
			return err
		}
		_ = os.Remove(old + checkpoint.BinDataSuffix)
	}
	return nil
}

// checkFinite returns an error naming the first trainable variable with a NaN or infinite value.
func checkFinite(store *model.Store) error {
	for v := range store.IterVariables() {
		if !v.Trainable || v.DType() != dtypes.Float32 {
			continue
		}
		for i, x := range tensors.MustCopyFlatData[float32](v.MustValue()) {
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
				return fmt.Errorf("weights diverged at step %d (%s[%d] = %g): not saving a checkpoint; lower the learning rate or clip gradients",
					optimizer.GetGlobalStep(store), v.Path(), i, x)
			}
		}
	}
	return nil
}

// LoadRun returns a store holding the newest checkpoint of a run folder: the model's variables (with the
// optimizer state and step). Hyperparameters stored in the checkpoint are left out. A newest checkpoint that
// cannot be read is skipped for the one before, which the returned CheckpointInfo names (its Fallback says why).
// LoadRunModel also checks the checkpoint against the run's model.
func LoadRun(dir string) (*model.Store, CheckpointInfo, error) {
	store := model.NewStore()
	ck, err := loadNewest(dir, store)
	if err != nil {
		return nil, ck, fmt.Errorf("loading the run %s: %w", dir, err)
	}
	return store, ck, nil
}

// LoadRunModel is LoadRun for the model cfg of the run folder (its config.json, ReadModelConfig): the
// checkpoint loaded must hold exactly the variables of cfg, with their shapes (CheckModel), or it is an error that
// names both values, say config.json's depth and the checkpoint's number of encoder blocks.
func LoadRunModel(dir string, cfg vitnb.Config) (*model.Store, CheckpointInfo, error) {
	store, ck, err := LoadRun(dir)
	if err != nil {
		return nil, ck, err
	}
	if err := CheckModel(store, cfg); err != nil {
		store.Finalize()
		return nil, ck, fmt.Errorf("%s does not fit its checkpoint %s: %w", filepath.Join(dir, ModelConfigFile), ck.Name, err)
	}
	return store, ck, nil
}

// ModelShapes returns the model variables of store at its root scope (vitnb.IsModelVariable; not the optimizer's
// state or the step) with their shapes; none for a nil store.
func ModelShapes(store *model.Store) map[string][]int {
	shapes := map[string][]int{}
	if store == nil {
		return shapes
	}
	for v := range store.IterVariables() {
		if name := strings.TrimPrefix(v.Path(), "/"); vitnb.IsModelVariable(name) {
			shapes[name] = v.Shape().Dimensions
		}
	}
	return shapes
}

// CheckModel tells whether the model variables of store are exactly those of cfg (vitnb.Config.CheckVariables).
func CheckModel(store *model.Store, cfg vitnb.Config) error {
	if store == nil {
		return errNoStore
	}
	return cfg.CheckVariables(ModelShapes(store))
}
