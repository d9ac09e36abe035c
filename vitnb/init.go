package vitnb

import (
	"math"

	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck
	"github.com/gomlx/gomlx/ml/model"
)

// initFn builds the initial value of a variable of the given shape, drawing random numbers from the store's
// generator (seeded by the store parameter model.ParamInitialSeed).
type initFn func(store *model.Store, g *Graph, shape shapes.Shape) *Node

// variable returns the value in graph g, in cfg.DType, of the variable name in scope, created with shape dims in
// cfg.ParamDType() and initialised by init if new. An existing variable (loaded weights) must have exactly that
// shape.
func variable(scope *model.Scope, g *Graph, cfg Config, name string, init initFn, dims ...int) *Node {
	return ConvertDType(paramValue(scope, g, cfg, name, init, dims...), cfg.DType)
}

// paramValue is variable's value in cfg.ParamDType(), for the computations kept in float32 under mixed precision.
func paramValue(scope *model.Scope, g *Graph, cfg Config, name string, init initFn, dims ...int) *Node {
	store := scope.Store()
	s := scope.WithInitializer(func(g *Graph, shape shapes.Shape) *Node { return init(store, g, shape) })
	v := s.VariableWithShape(name, shapes.Make(cfg.ParamDType(), dims...))
	return v.NodeValue(g)
}

func zeros(_ *model.Store, g *Graph, shape shapes.Shape) *Node { return Zeros(g, shape) }

func ones(_ *model.Store, g *Graph, shape shapes.Shape) *Node { return Ones(g, shape) }

// normal draws from N(0, stddev²).
func normal(stddev float64) initFn {
	return func(store *model.Store, g *Graph, shape shapes.Shape) *Node {
		return MulScalar(store.RandomNormal(g, shape), stddev)
	}
}

// truncatedNormal draws from N(0, stddev²) truncated to two standard deviations, with the stddev corrected for
// the truncation as jax.nn.initializers.variance_scaling(..., "truncated_normal") does (the constant
// .87962566103423978 is the stddev of a standard normal truncated to [-2, 2]). Values beyond 2 are redrawn once
// and then clipped, which leaves a negligible (≈0.2%) mass at the bounds.
func truncatedNormal(stddev float64) initFn {
	return func(store *model.Store, g *Graph, shape shapes.Shape) *Node {
		x := store.RandomNormal(g, shape)
		outside := GreaterThan(Abs(x), ConstAs(x, 2))
		x = Where(outside, store.RandomNormal(g, shape), x)
		x = ClipScalar(x, -2, 2)
		return MulScalar(x, stddev/.87962566103423978)
	}
}

// xavierUniform is Glorot's uniform initialisation U(-a, a), a = sqrt(6/(fan_in+fan_out)), for a 2D kernel
// [fan_in, fan_out] (flax.linen.initializers.xavier_uniform).
func xavierUniform(store *model.Store, g *Graph, shape shapes.Shape) *Node {
	return xavierUniformFan(shape.Dimensions[0], shape.Dimensions[shape.Rank()-1])(store, g, shape)
}

// xavierUniformFan is xavierUniform with the fans given: the attention kernels [width, heads, head_dim] are
// initialised as the [width, width] matrices they are reshaped to (flax DenseGeneral flattens them).
func xavierUniformFan(fanIn, fanOut int) initFn {
	return func(store *model.Store, g *Graph, shape shapes.Shape) *Node {
		limit := math.Sqrt(6 / float64(fanIn+fanOut))
		u := store.RandomUniform(g, shape) // [0, 1)
		return AddScalar(MulScalar(u, 2*limit), -limit)
	}
}

func sqrt(n int) float64 { return math.Sqrt(float64(n)) }
