package viz

import (
	"fmt"
	"image"
	"image/color"

	"github.com/vitnb/vitnb/vitnb"
)

// mapStage is one step of ModelMap: a box of the diagram and, per model, the shape of what leaves it.
type mapStage struct {
	label string
	// kind: "io" (input and output), "embed", "norm", "attention", "mlp", "add" (residual sum).
	kind string
	// block marks the stages inside the encoder block (drawn in a frame, repeated L times).
	block bool
}

// modelStages are the boxes of the paper's Fig. 1, top to bottom.
var modelStages = []mapStage{
	{label: "image", kind: "io"},
	{label: "cut into N patches, each flattened", kind: "embed"},
	{label: "linear projection E", kind: "embed"},
	{label: "class token in front", kind: "embed"},
	{label: "+ position embeddings E_pos", kind: "embed"},
	{label: "LayerNorm", kind: "norm", block: true},
	{label: "multi-head self-attention", kind: "attention", block: true},
	{label: "+  (residual)", kind: "add", block: true},
	{label: "LayerNorm", kind: "norm", block: true},
	{label: "MLP (GELU)", kind: "mlp", block: true},
	{label: "+  (residual)", kind: "add", block: true},
	{label: "LayerNorm, class token's state", kind: "norm"},
	{label: "head (linear): class scores", kind: "io"},
}

// ModelShapes returns, for each box of ModelMap top to bottom, the shape of the tensor that leaves it for one
// image of a model of configuration cfg (the batch axis left out), e.g. for B/16 "224x224x3", "[196, 768]" (196
// patches of 16x16x3 values), "[196, 768]", "[197, 768]", ...
func ModelShapes(cfg vitnb.Config) ([]string, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	n, d, t := cfg.NumPatches(), cfg.Width, cfg.NumTokens()
	tokens := fmt.Sprintf("[%d, %d]", t, d)
	classToken, final := tokens, fmt.Sprintf("[%d]", d)
	if cfg.Pooling != vitnb.PoolToken {
		classToken = "no class token: " + tokens
		final = fmt.Sprintf("mean of the tokens [%d]", d)
	}
	head := fmt.Sprintf("[%d]", cfg.NumClasses)
	if cfg.RepresentationSize > 0 {
		head = fmt.Sprintf("[%d] -> tanh [%d] -> [%d]", d, cfg.RepresentationSize, cfg.NumClasses)
	}
	return []string{
		fmt.Sprintf("%dx%dx%d", cfg.ImageSize, cfg.ImageSize, cfg.Channels),
		fmt.Sprintf("[%d, %d] (%d = %dx%dx%d)", n, cfg.PatchSize*cfg.PatchSize*cfg.Channels,
			cfg.PatchSize*cfg.PatchSize*cfg.Channels, cfg.PatchSize, cfg.PatchSize, cfg.Channels),
		fmt.Sprintf("[%d, %d]", n, d),
		classToken,
		tokens,
		tokens,
		fmt.Sprintf("%d heads of %d: maps [%d, %d]", cfg.Heads, cfg.HeadDim(), t, t),
		tokens,
		tokens,
		fmt.Sprintf("[%d, %d] -> %s", t, cfg.MLPDim, tokens),
		tokens,
		final,
		head,
	}, nil
}

// stageColours fill the boxes by kind, close to the paper's Fig. 1.
var stageColours = map[string]color.RGBA{
	"io": {235, 235, 235, 255}, "embed": {255, 228, 196, 255}, "norm": {255, 250, 205, 255},
	"attention": {200, 230, 201, 255}, "mlp": {187, 222, 251, 255}, "add": {245, 245, 245, 255},
}

// ModelMap draws the paper's Fig. 1 as a flow from top to bottom: the image cut into patches, the linear
// projection, the class token and the position embeddings, the encoder block (LayerNorm, multi-head attention,
// residual sum, LayerNorm, MLP, residual sum) in a frame repeated L times, the final LayerNorm and the head. Beside
// the boxes, one column per configuration (e.g. micro28 and B/16) writes the shape of the tensor that leaves each
// box for one image (ModelShapes), under the model's name, depth, width, heads and MLP size.
func ModelMap(cfgs ...vitnb.Config) (*image.RGBA, error) {
	if len(cfgs) == 0 {
		return nil, fmt.Errorf("viz: ModelMap needs at least one configuration")
	}
	shapes := make([][]string, len(cfgs))
	colW := make([]int, len(cfgs))
	headers := make([][2]string, len(cfgs))
	for i, c := range cfgs {
		s, err := ModelShapes(c)
		if err != nil {
			return nil, fmt.Errorf("viz: ModelMap of %q: %w", c.Name, err)
		}
		shapes[i] = s
		c = c.WithDefaults()
		name := c.Name
		if name == "" {
			name = fmt.Sprintf("model %d", i+1)
		}
		headers[i] = [2]string{name, fmt.Sprintf("L=%d D=%d heads=%d MLP=%d", c.Depth, c.Width, c.Heads, c.MLPDim)}
		colW[i] = max(TextWidth(headers[i][0]), TextWidth(headers[i][1]))
		for _, t := range s {
			colW[i] = max(colW[i], TextWidth(t))
		}
	}
	const (
		margin, boxH, gap = 12, 22, 14
		frameX            = 58 // the encoder block's frame; its "L x" label on the left of it
		skipX             = 72 // the residual paths run down the left of the boxes
		boxX              = 96
		boxW              = 250
		colGap            = 24
	)
	top := margin + 2*FontHeight + 10
	width := boxX + boxW + margin
	for _, w := range colW {
		width += colGap + w
	}
	height := top + len(modelStages)*(boxH+gap) + margin
	img := image.NewRGBA(image.Rect(0, 0, width+margin, height))
	Fill(img, img.Bounds(), White)
	y := func(i int) int { return top + i*(boxH+gap) } // top of stage i's box

	// The encoder block's frame, with "L x" on its left.
	first, last := -1, -1
	for i, s := range modelStages {
		if s.block {
			if first < 0 {
				first = i
			}
			last = i
		}
	}
	frame := image.Rect(frameX, y(first)-gap/2, boxX+boxW+8, y(last)+boxH+gap/2)
	rect(img, frame, Grey)
	mid := (frame.Min.Y + frame.Max.Y) / 2
	Label(img, 4, mid-FontHeight-FontHeight/2, "L x", Black)
	Label(img, 4, mid-FontHeight/2, "encoder", Grey)
	Label(img, 4, mid+FontHeight/2, "block", Grey)

	for i, s := range modelStages {
		r := image.Rect(boxX, y(i), boxX+boxW, y(i)+boxH)
		Fill(img, r, stageColours[s.kind])
		rect(img, r, Black)
		Label(img, r.Min.X+(boxW-TextWidth(s.label))/2, r.Min.Y+(boxH-FontHeight)/2, s.label, Black)
		if i > 0 { // the arrow from the box above
			cx := boxX + boxW/2
			bar(img, cx, y(i)-gap, cx, y(i)-1, Black)
			arrowHead(img, cx, y(i)-1)
		}
		x := boxX + boxW + colGap
		for k := range cfgs {
			Label(img, x, r.Min.Y+(boxH-FontHeight)/2, shapes[k][i], Black)
			x += colW[k] + colGap
		}
	}
	// The residual paths: from the input of each half of the block around to its "+".
	for i, s := range modelStages {
		if s.kind != "add" {
			continue
		}
		from := y(i-2) - gap/2 // between the box before the LayerNorm and the LayerNorm
		to := y(i) + boxH/2
		cx := boxX + boxW/2
		bar(img, skipX, from, cx, from, Red)
		bar(img, skipX, from, skipX, to, Red)
		bar(img, skipX, to, boxX-1, to, Red)
		for d := 1; d <= 3; d++ { // arrow head pointing right
			bar(img, boxX-1-d, to-d, boxX-1-d, to+d, Red)
		}
	}
	// Column headers.
	x := boxX + boxW + colGap
	for k := range cfgs {
		Label(img, x, margin, headers[k][0], Black)
		Label(img, x, margin+FontHeight+2, headers[k][1], Grey)
		x += colW[k] + colGap
	}
	Label(img, boxX, margin, "Fig. 1: the Vision Transformer", Black)
	Label(img, boxX, margin+FontHeight+2, "shapes for one image", Grey)
	return img, nil
}

// bar draws a 2-pixel-thick horizontal or vertical segment from (x0, y0) to (x1, y1).
func bar(img *image.RGBA, x0, y0, x1, y1 int, c color.Color) {
	Fill(img, image.Rect(min(x0, x1), min(y0, y1), max(x0, x1)+2, max(y0, y1)+2), c)
}

// rect draws the outline of r.
func rect(img *image.RGBA, r image.Rectangle, c color.Color) {
	bar(img, r.Min.X, r.Min.Y, r.Max.X-1, r.Min.Y, c)
	bar(img, r.Min.X, r.Max.Y-1, r.Max.X-1, r.Max.Y-1, c)
	bar(img, r.Min.X, r.Min.Y, r.Min.X, r.Max.Y-1, c)
	bar(img, r.Max.X-1, r.Min.Y, r.Max.X-1, r.Max.Y-1, c)
}

// arrowHead draws a small head pointing down at (x, y).
func arrowHead(img *image.RGBA, x, y int) {
	for d := 1; d <= 3; d++ {
		bar(img, x-d, y-d, x+d, y-d, Black)
	}
}
