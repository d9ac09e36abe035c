package classifier_test

import (
	"fmt"
	"os"

	"github.com/vitnb/vitnb/vitnb/backend"
	"github.com/vitnb/vitnb/vitnb/classifier"
	"github.com/vitnb/vitnb/vitnb/training"
	"github.com/vitnb/vitnb/vitnb/weights"
)

// Classify a photo with a pretrained checkpoint and its own preprocessing (README's example; compiled, not run:
// it needs the checkpoint in the Hugging Face cache or the network).
func ExampleLoad() {
	b, _, err := backend.New()
	if err != nil {
		panic(err)
	}
	c, err := classifier.Load(b, "hf:google/vit-base-patch16-224", weights.Options{})
	if err != nil {
		panic(err)
	}
	preds, err := c.PredictFiles([]string{"cat.jpg"}, 5)
	if err != nil {
		panic(err)
	}
	fmt.Println(preds[0].Top[0].Label, preds[0].Top[0].Probability)
}

// Train the recipe that reached 91% on Fashion-MNIST, then open the run again (compiled, not run: 19 minutes).
func ExampleTrain() {
	b, _, err := backend.New()
	if err != nil {
		panic(err)
	}
	r, err := training.LookupRecipe("fashion-mnist-91")
	if err != nil {
		panic(err)
	}
	job := r.Job
	job.Dir = "runs/fm"
	c, err := classifier.Train(b, job, classifier.TrainOptions{Resume: true, Progress: training.TerminalProgress(os.Stdout)})
	if err != nil {
		panic(err)
	}
	fmt.Printf("%.2f%%\n", 100*c.Metrics().Top1)
	c, err = classifier.Open(b, "runs/fm")
	if err != nil {
		panic(err)
	}
	fmt.Println(c.Config.Name)
}
