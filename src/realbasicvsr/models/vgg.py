"""VGG19's convolutional part with torchvision's parameter names, as a multi-layer feature extractor.

Owns the network (``features.<i>`` exactly as torchvision's ``vgg19().features``) and the strict loader
that both perceptual backbones use to take a foreign state dict with one-line errors. Weights are never
loaded here implicitly: :class:`realbasicvsr.losses.PerceptualLoss` finds the file and calls the loader.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from torch import Tensor, nn

from ..errors import RealBasicVSRError
from .loading import load_strict

# torchvision's vgg19 ("E") configuration: conv widths, "M" = 2x2 max pooling.
_VGG19_CFG: tuple[int | str, ...] = (
    64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512, "M",
)

_NUM_LAYERS = sum(1 if v == "M" else 2 for v in _VGG19_CFG)  # a conv is followed by its ReLU: 37

# conv1_2, conv2_2, conv3_4, conv4_4, conv5_4: the layers RealBasicVSR's perceptual loss compares.
VGG19_DEFAULT_LAYERS: tuple[int, ...] = (2, 7, 16, 25, 34)


def _vgg19_layers() -> list[nn.Module]:
    layers: list[nn.Module] = []
    in_ch = 3
    for v in _VGG19_CFG:
        if v == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
        else:
            # Not in place: a tapped conv output must keep its negative values after the next ReLU runs.
            layers += [nn.Conv2d(in_ch, int(v), kernel_size=3, padding=1), nn.ReLU(inplace=False)]
            in_ch = int(v)
    return layers


class VGG19Features(nn.Module):
    """VGG19's ``features`` (37 layers, indices as torchvision's) returning the outputs of chosen layers.

    Args:
        layers: indices into ``features`` whose outputs ``forward`` returns, in this order. A conv index
            (0, 2, 5, 7, 10, ... 34) gives that conv's output *before* its ReLU; the default is conv1_2,
            conv2_2, conv3_4, conv4_4 and conv5_4. Only ``features[0 .. max(layers)]`` run.

    Input: (N, 3, H, W), already normalised the way the weights expect (ImageNet mean/std for
    torchvision's). Random weights until :meth:`load_torchvision_state_dict`.
    """

    def __init__(self, layers: Sequence[int] = VGG19_DEFAULT_LAYERS) -> None:
        super().__init__()
        layers = tuple(int(i) for i in layers)
        if not layers:
            raise RealBasicVSRError("VGG19Features needs at least one layer index")
        bad = [i for i in layers if not 0 <= i < _NUM_LAYERS]
        if bad:
            raise RealBasicVSRError(
                f"VGG19 layer index {bad[0]} out of range: features has indices 0..{_NUM_LAYERS - 1}"
            )
        self.layers = layers
        self.features = nn.Sequential(*_vgg19_layers())

    def forward(self, x: Tensor) -> list[Tensor]:
        wanted = set(self.layers)
        found: dict[int, Tensor] = {}
        for i, layer in enumerate(self.features[: max(self.layers) + 1]):
            x = layer(x)
            if i in wanted:
                found[i] = x
        return [found[i] for i in self.layers]

    def load_torchvision_state_dict(self, state_dict: Mapping[str, Tensor], *, source: str = "state dict") -> None:
        """Load torchvision's ``vgg19`` weights: every ``features.*`` key, strictly; ``classifier.*`` ignored."""
        features = {k: v for k, v in state_dict.items() if k.startswith("features.")}
        load_strict(self, features, what="torchvision's VGG19 features", source=source)
