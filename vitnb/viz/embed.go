package viz

import (
	"fmt"
	"image"
	"image/color"
	"math"
	"sort"
)

// SymmetricEigen returns the eigenvalues (descending) and unit eigenvectors (vectors[i] belongs to values[i])
// of the symmetric n x n matrix a (row-major; only read), by cyclic Jacobi rotations.
func SymmetricEigen(a []float64, n int) (values []float64, vectors [][]float64, err error) {
	if len(a) != n*n {
		return nil, nil, fmt.Errorf("viz: a %dx%d matrix needs %d values, got %d", n, n, n*n, len(a))
	}
	m := append([]float64(nil), a...)
	v := make([]float64, n*n) // columns are eigenvectors
	for i := 0; i < n; i++ {
		v[i*n+i] = 1
	}
	for sweep := 0; sweep < 100; sweep++ {
		off := 0.0
		for p := 0; p < n; p++ {
			for q := p + 1; q < n; q++ {
				off += m[p*n+q] * m[p*n+q]
			}
		}
		if off < 1e-22 {
			break
		}
		for p := 0; p < n; p++ {
			for q := p + 1; q < n; q++ {
				apq := m[p*n+q]
				if math.Abs(apq) < 1e-300 {
					continue
				}
				theta := (m[q*n+q] - m[p*n+p]) / (2 * apq)
				t := math.Copysign(1, theta) / (math.Abs(theta) + math.Sqrt(theta*theta+1))
				c := 1 / math.Sqrt(t*t+1)
				s := t * c
				for k := 0; k < n; k++ { // columns p and q of m
					mkp, mkq := m[k*n+p], m[k*n+q]
					m[k*n+p], m[k*n+q] = c*mkp-s*mkq, s*mkp+c*mkq
				}
				for k := 0; k < n; k++ { // rows p and q of m
					mpk, mqk := m[p*n+k], m[q*n+k]
					m[p*n+k], m[q*n+k] = c*mpk-s*mqk, s*mpk+c*mqk
				}
				for k := 0; k < n; k++ {
					vkp, vkq := v[k*n+p], v[k*n+q]
					v[k*n+p], v[k*n+q] = c*vkp-s*vkq, s*vkp+c*vkq
				}
			}
		}
	}
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(i, j int) bool { return m[order[i]*n+order[i]] > m[order[j]*n+order[j]] })
	for _, i := range order {
		values = append(values, m[i*n+i])
		vec := make([]float64, n)
		for k := 0; k < n; k++ {
			vec[k] = v[k*n+i]
		}
		vectors = append(vectors, vec)
	}
	return values, vectors, nil
}

// PCA returns the first k principal components of samples (each a vector of the same length d), i.e. the unit
// eigenvectors of their covariance with the largest eigenvalues, and the fraction of the variance each
// explains. The sign of each component is fixed so that its largest entry in magnitude is positive.
func PCA(samples [][]float64, k int) (components [][]float64, explained []float64, err error) {
	if len(samples) < 2 {
		return nil, nil, fmt.Errorf("viz: PCA needs at least 2 samples, got %d", len(samples))
	}
	d := len(samples[0])
	mean := make([]float64, d)
	for _, s := range samples {
		if len(s) != d {
			return nil, nil, fmt.Errorf("viz: PCA samples must have the same length (%d and %d)", d, len(s))
		}
		for j, x := range s {
			mean[j] += x / float64(len(samples))
		}
	}
	cov := make([]float64, d*d)
	for _, s := range samples {
		for i := 0; i < d; i++ {
			di := s[i] - mean[i]
			for j := i; j < d; j++ {
				cov[i*d+j] += di * (s[j] - mean[j])
			}
		}
	}
	for i := 0; i < d; i++ {
		for j := i; j < d; j++ {
			cov[i*d+j] /= float64(len(samples) - 1)
			cov[j*d+i] = cov[i*d+j]
		}
	}
	values, vectors, err := SymmetricEigen(cov, d)
	if err != nil {
		return nil, nil, err
	}
	total := 0.0
	for _, v := range values {
		total += max(v, 0)
	}
	k = min(k, d)
	for i := 0; i < k; i++ {
		vec := vectors[i]
		big := 0
		for j := range vec {
			if math.Abs(vec[j]) > math.Abs(vec[big]) {
				big = j
			}
		}
		if vec[big] < 0 {
			for j := range vec {
				vec[j] = -vec[j]
			}
		}
		components = append(components, vec)
		if total > 0 {
			explained = append(explained, max(values[i], 0)/total)
		} else {
			explained = append(explained, 0)
		}
	}
	return components, explained, nil
}

// KernelFilters splits a patch-embedding kernel [p, p, c, width] (HWIO, row-major, the layout of
// "embedding/kernel") into its width filters, each a vector of p*p*c values in (y, x, channel) order.
func KernelFilters(kernel []float32, p, c, width int) ([][]float64, error) {
	if len(kernel) != p*p*c*width {
		return nil, fmt.Errorf("viz: a [%d, %d, %d, %d] kernel has %d values, got %d", p, p, c, width, p*p*c*width, len(kernel))
	}
	filters := make([][]float64, width)
	for o := range filters {
		f := make([]float64, p*p*c)
		for i := range f {
			f[i] = float64(kernel[i*width+o])
		}
		filters[o] = f
	}
	return filters, nil
}

// FilterImage draws one filter of p*p*c values ((y, x, channel) order, c is 1 or 3) as a p x p picture,
// normalised on its own: grey (or each channel) mid-level is 0, and the largest magnitude reaches black or
// full intensity, as the paper's Fig. 7 (left) draws the principal components of the embedding filters.
func FilterImage(filter []float64, p, c int) (*image.RGBA, error) {
	if len(filter) != p*p*c || (c != 1 && c != 3) {
		return nil, fmt.Errorf("viz: filter of %d values is not %dx%dx%d with 1 or 3 channels", len(filter), p, p, c)
	}
	scale := 0.0
	for _, v := range filter {
		scale = max(scale, math.Abs(v))
	}
	if scale == 0 {
		scale = 1
	}
	level := func(v float64) uint8 { return uint8(math.Round(127.5 + 127.5*v/scale)) }
	img := image.NewRGBA(image.Rect(0, 0, p, p))
	for y := 0; y < p; y++ {
		for x := 0; x < p; x++ {
			o := (y*p + x) * c
			if c == 1 {
				g := level(filter[o])
				img.SetRGBA(x, y, color.RGBA{g, g, g, 255})
			} else {
				img.SetRGBA(x, y, color.RGBA{level(filter[o]), level(filter[o+1]), level(filter[o+2]), 255})
			}
		}
	}
	return img, nil
}

// CosineSimilarity returns the n x n matrix (row-major) of cosine similarities between n vectors; a zero
// vector has similarity 0 with everything.
func CosineSimilarity(vectors [][]float64) []float64 {
	n := len(vectors)
	norms := make([]float64, n)
	for i, v := range vectors {
		for _, x := range v {
			norms[i] += x * x
		}
		norms[i] = math.Sqrt(norms[i])
	}
	out := make([]float64, n*n)
	for i := 0; i < n; i++ {
		for j := i; j < n; j++ {
			dot := 0.0
			for k := range vectors[i] {
				dot += vectors[i][k] * vectors[j][k]
			}
			if norms[i] > 0 && norms[j] > 0 {
				dot /= norms[i] * norms[j]
			} else {
				dot = 0
			}
			out[i*n+j], out[j*n+i] = dot, dot
		}
	}
	return out
}

// PositionEmbeddings splits position embeddings [1, prefix + g*g, width] (row-major, the layout of
// "Transformer/posembed_input/pos_embedding") into the g*g patch embeddings, dropping the prefix (class
// token) rows.
func PositionEmbeddings(pos []float32, prefix, g, width int) ([][]float64, error) {
	if len(pos) != (prefix+g*g)*width {
		return nil, fmt.Errorf("viz: position embeddings of %d values are not [1, %d+%d*%d, %d]", len(pos), prefix, g, g, width)
	}
	out := make([][]float64, g*g)
	for i := range out {
		v := make([]float64, width)
		for k := range v {
			v[k] = float64(pos[(prefix+i)*width+k])
		}
		out[i] = v
	}
	return out, nil
}

// SimilarityGrid draws the paper's Fig. 7 (centre): a g x g grid of small g x g maps; the map at row r and
// column c shows the cosine similarity (similarity[i*g*g+j], -1 to 1 drawn with Viridis over [lo, hi]) of
// the embedding of patch (r, c) with the embeddings of every patch. Each map cell is scale pixels.
func SimilarityGrid(similarity []float64, g, scale int, lo, hi float64) (*image.RGBA, error) {
	n := g * g
	if len(similarity) != n*n {
		return nil, fmt.Errorf("viz: similarity of %d values is not [%d, %d]", len(similarity), n, n)
	}
	const gap = 2
	side := g * scale
	out := image.NewRGBA(image.Rect(0, 0, g*(side+gap)+gap, g*(side+gap)+gap))
	Fill(out, out.Bounds(), White)
	for i := 0; i < n; i++ {
		m, err := HeatMap(similarity[i*n:(i+1)*n], g, g, scale, lo, hi)
		if err != nil {
			return nil, err
		}
		x0, y0 := gap+(i%g)*(side+gap), gap+(i/g)*(side+gap)
		drawAt(out, m, x0, y0)
	}
	return out, nil
}
