package training

import (
	"errors"
	"fmt"
	"iter"
	"strings"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/distributed"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/core/tensors/dtensor"
	"github.com/gomlx/gomlx/ml/train"
)

// DataMeshAxis is the name of the device-mesh axis the batch is sharded along.
const DataMeshAxis = "data"

// CheckDevices tells whether backend b can train data-parallel on devices devices with global batches of
// batchSize images (0: not checked here; every batch is checked when split). It returns nil for devices <= 1.
func CheckDevices(b compute.Backend, devices, batchSize int) error {
	if devices <= 1 {
		if devices < 0 {
			return fmt.Errorf("the number of devices must be positive, got %d", devices)
		}
		return nil
	}
	if have := b.NumDevices(); have < devices {
		if !strings.Contains(strings.ToLower(b.Name()), "xla") {
			return fmt.Errorf("data-parallel training on %d devices needs GoMLX's distributed execution on XLA; backend %q has %d device and none: use GOMLX_BACKEND=xla:cpu (XLA's CPU plugin shows several devices) or xla:cuda",
				devices, b.Name(), have)
		}
		return fmt.Errorf("data-parallel training on %d devices, but backend %s has only %d device(s)", devices, b.Name(), have)
	}
	if batchSize > 0 && batchSize%devices != 0 {
		return fmt.Errorf("the batch of %d images does not split evenly over %d devices: choose a batch size that is a multiple of %d",
			batchSize, devices, devices)
	}
	return nil
}

// dataParallel splits batches across the devices of a one-axis mesh. Data-parallel training (Config.Devices > 1)
// goes through GoMLX's distributed execution on XLA, not a hand-written all-reduce:
//
//   - a one-axis device mesh {"data": N} over devices 0..N-1 of the backend;
//   - every batch of the training data is split along its first (batch) axis into N equal shards on the host
//     (dtensor.ShardTensor) and each shard is copied to its device: a train.DistributedDataset;
//   - GoMLX's train.Loop sees a DistributedDataset and calls Trainer.DistributedTrainStep, which compiles the
//     same training graph (model, loss, Optimizer.UpdateGraph) with the AutoSharding strategy: inputs sharded
//     on the batch axis, variables (weights, optimizer state, step) replicated on every device. XLA's Shardy
//     partitioner then runs each device on its shard and inserts the collectives (all-reduce of the gradients
//     and of the batch-mean loss and metrics), so the update is that of the global batch, on every device;
//   - variables come back from the step as replicated distributed tensors; reading one (checkpoints,
//     evaluation) merges it into an ordinary tensor, so checkpoints keep their format and a run trained on N
//     devices resumes on 1 and vice versa.
//
// Evaluation (Evaluate) stays on one device. GoMLX's pure-Go backend has a single device and no distributed
// execution, and GoMLX's Trainer cannot combine distributed steps with gradient accumulation.
type dataParallel struct {
	backend    compute.Backend
	mesh       *distributed.DeviceMesh
	batchSpec  *distributed.ShardingSpec // Sharded on the first axis, the rest replicated.
	assignment []compute.DeviceNum
}

// newDataParallel checks the backend (CheckDevices) and prepares the mesh of devices 0..devices-1; it returns
// nil for one device (0 or 1).
func newDataParallel(b compute.Backend, devices, batchSize int) (*dataParallel, error) {
	if err := CheckDevices(b, devices, batchSize); err != nil || devices <= 1 {
		return nil, err
	}
	mesh, err := distributed.NewDeviceMesh([]int{devices}, []string{DataMeshAxis})
	if err != nil {
		return nil, fmt.Errorf("creating a mesh of %d devices: %w", devices, err)
	}
	spec, err := distributed.BuildSpec(mesh).S(DataMeshAxis).Done()
	if err != nil {
		return nil, fmt.Errorf("sharding the batch axis over %d devices: %w", devices, err)
	}
	p := &dataParallel{backend: b, mesh: mesh, batchSpec: spec, assignment: make([]compute.DeviceNum, devices)}
	for i := range p.assignment {
		p.assignment[i] = compute.DeviceNum(i)
	}
	return p, nil
}

// wrap returns data as a train.DistributedDataset whose batches are split across the devices.
func (p *dataParallel) wrap(data train.Dataset) train.Dataset {
	return &shardedDataset{Dataset: data, p: p}
}

// shardedDataset is a train.DistributedDataset: the batches of Dataset, each split along its batch axis.
// Its Iter yields the batches of Dataset unsplit.
type shardedDataset struct {
	train.Dataset
	p *dataParallel
}

var _ train.DistributedDataset = (*shardedDataset)(nil)

// Strategy implements train.DistributedDataset: XLA's automatic sharding (Shardy) from the input shardings.
func (s *shardedDataset) Strategy() distributed.Strategy { return distributed.AutoSharding }

// DeviceAssignment implements train.DistributedDataset: devices 0..N-1.
func (s *shardedDataset) DeviceAssignment() []compute.DeviceNum { return s.p.assignment }

// DistributedIter implements train.DistributedDataset.
func (s *shardedDataset) DistributedIter() iter.Seq2[train.DistributedBatch, error] {
	return func(yield func(train.DistributedBatch, error) bool) {
		for batch, err := range s.Dataset.Iter() {
			if err != nil {
				yield(train.DistributedBatch{}, err)
				return
			}
			db, err := s.p.split(batch)
			if err != nil {
				yield(train.DistributedBatch{}, err)
				return
			}
			if !yield(db, nil) {
				return
			}
		}
	}
}

// split shards every tensor of batch along its first axis and places each shard on its device. It takes
// ownership of batch's tensors (they are finalised, also on error).
func (p *dataParallel) split(batch train.Batch) (train.DistributedBatch, error) {
	defer func() { _ = batch.Finalize() }()
	db := train.DistributedBatch{Spec: batch.Spec}
	var err error
	if db.Inputs, err = p.splitAll(batch.Inputs, "input"); err == nil {
		db.Labels, err = p.splitAll(batch.Labels, "label")
	}
	if err != nil {
		_ = db.Finalize()
		return train.DistributedBatch{}, err
	}
	return db, nil
}

func (p *dataParallel) splitAll(ts []*tensors.Tensor, kind string) ([]*dtensor.Tensor, error) {
	out := make([]*dtensor.Tensor, 0, len(ts))
	n := p.mesh.NumDevices()
	for i, t := range ts {
		shape := t.Shape()
		if shape.Rank() == 0 || shape.Dimensions[0]%n != 0 {
			for _, d := range out {
				_ = d.FinalizeAll()
			}
			return nil, fmt.Errorf("data-parallel training: %s #%d of shape %s does not split evenly over %d devices along its batch axis (drop the last partial batch or choose a batch size that is a multiple of %d)",
				kind, i, shape, n, n)
		}
		d, err := dtensor.ShardTensor(p.batchSpec, t)
		if err == nil {
			err = p.place(d)
		}
		if err != nil {
			if d != nil {
				_ = d.FinalizeAll()
			}
			for _, d := range out {
				_ = d.FinalizeAll()
			}
			return nil, fmt.Errorf("data-parallel training: splitting %s #%d of shape %s over %d devices: %w", kind, i, shape, n, err)
		}
		out = append(out, d)
	}
	return out, nil
}

// place copies each shard to its device.
func (p *dataParallel) place(d *dtensor.Tensor) error {
	var errs []error
	for i, shard := range d.Shards() {
		if err := shard.MaterializeOnDevice(p.backend, false, p.assignment[i]); err != nil {
			errs = append(errs, fmt.Errorf("device %d: %w", p.assignment[i], err))
		}
	}
	return errors.Join(errs...)
}

// TrainStep runs the training graph on one batch (taking ownership of its tensors), split across the devices
// when Config.Devices > 1, and returns GoMLX's train metrics (batch loss first). It neither logs nor saves
// checkpoints (Train does); benchmarks use it.
func (r *Run) TrainStep(batch train.Batch) ([]*tensors.Tensor, error) {
	if r.parallel == nil {
		return r.Trainer.TrainStep(batch)
	}
	db, err := r.parallel.split(batch)
	if err != nil {
		return nil, err
	}
	return r.Trainer.DistributedTrainStep(distributed.AutoSharding, r.parallel.assignment, db)
}
