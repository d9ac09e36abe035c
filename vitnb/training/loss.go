package training

import (
	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck
)

// CrossEntropy returns the mean softmax cross-entropy of logits [batch, classes] against integer labels [batch]
// (or [batch, 1]), with label smoothing: the target puts 1-smoothing on the label and spreads smoothing
// uniformly over all classes (Szegedy et al. 2016, as timm's LabelSmoothingCrossEntropy). Computed in float32.
func CrossEntropy(labels, logits *Node, smoothing float64) *Node {
	batch, classes := logits.Shape().Dimensions[0], logits.Shape().Dimensions[1]
	labels = Reshape(labels, batch)
	logits = ConvertDType(logits, dtypes.Float32)
	logProbs := LogSoftmax(logits, -1)
	target := OneHot(labels, classes, dtypes.Float32)
	if smoothing > 0 {
		target = AddScalar(MulScalar(target, 1-smoothing), smoothing/float64(classes))
	}
	return ReduceAllMean(Neg(ReduceSum(Mul(target, logProbs), -1)))
}

// trainerLoss adapts CrossEntropy to GoMLX's train.LossFn signature.
func trainerLoss(smoothing float64) func(labels, predictions []*Node) *Node {
	return func(labels, predictions []*Node) *Node {
		return CrossEntropy(labels[0], predictions[0], smoothing)
	}
}
