"""gankit nightmare: MIT's Nightmare Machine in miniature (Yanardag, Cebrian and Rahwan, MIT
Media Lab, 2016, nightmare.mit.edu): "haunted faces" drawn by a GAN trained on faces and
"haunted places", photos, both made frightening by a learned style.

The style is learned, not a filter: a feed-forward network (Johnson, Alahi and Fei-Fei 2016,
"Perceptual Losses for Real-Time Style Transfer and Super-Resolution", ECCV) with instance
normalisation (Ulyanov, Vedaldi and Lempitsky 2016, "Instance Normalization: The Missing
Ingredient for Fast Stylization") is trained to match the Gram matrices of a style image's
features (Gatys, Ecker and Bethge 2016, "Image Style Transfer Using Convolutional Neural
Networks", CVPR) while keeping the content's features. The features come from the Inception-v3
gankit already has for FID, so nothing is downloaded. The default style image is drawn from
noise by gankit.nightmare.style_image, and the network shipped with it was trained by
`python -m gankit.nightmare.training` (styles/README.md).

Modules: network (the style network and its file), perceptual (features and losses), training,
style_image (the default style), haunt (the command's work), page (nightmare.html).
"""

from gankit.nightmare.haunt import Haunted, haunt
from gankit.nightmare.network import StyleNet, load_style_net, save_style_net
from gankit.nightmare.perceptual import gram, style_loss
from gankit.nightmare.training import StyleTraining, train_style_net

__all__ = [
    "Haunted", "StyleNet", "StyleTraining", "gram", "haunt", "load_style_net",
    "save_style_net", "style_loss", "train_style_net",
]  # fmt: skip
