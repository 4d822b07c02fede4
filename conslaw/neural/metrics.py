"""Frame-prediction metrics: MSE, PSNR and SSIM (Gaussian window), per frame in torch."""
from __future__ import annotations

import torch
import torch.nn.functional as F


def mse_per_frame(prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean squared error of each frame: (..., H, W) -> (...)."""
    return (prediction - target).pow(2).mean(dim=(-2, -1))


def psnr_per_frame(prediction: torch.Tensor, target: torch.Tensor, data_range: float = 1.0) -> torch.Tensor:
    """Peak signal-to-noise ratio in dB of each frame; +inf for identical frames."""
    return 10.0 * torch.log10(data_range ** 2 / mse_per_frame(prediction, target))


def gaussian_window(size: int = 11, sigma: float = 1.5, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """A normalised 2D Gaussian kernel (size, size)."""
    coordinates = torch.arange(size, dtype=dtype) - (size - 1) / 2
    profile = torch.exp(-coordinates.pow(2) / (2 * sigma ** 2))
    profile = profile / profile.sum()
    return profile[:, None] * profile[None, :]


def ssim_per_frame(prediction: torch.Tensor, target: torch.Tensor, data_range: float = 1.0,
                   window_size: int = 11, sigma: float = 1.5) -> torch.Tensor:
    """Structural similarity (Wang et al. 2004) of each frame: (..., H, W) -> (...).

    Local statistics use a Gaussian window (11 x 11, sigma 1.5, shrunk to the frame size when
    needed) over the valid region; constants K1 = 0.01, K2 = 0.03.
    """
    leading = prediction.shape[:-2]
    height, width = prediction.shape[-2:]
    size = min(window_size, height, width)
    window = gaussian_window(size, sigma, prediction.dtype)[None, None]
    x = prediction.reshape(-1, 1, height, width)
    y = target.reshape(-1, 1, height, width).to(prediction.dtype)

    def local_mean(image: torch.Tensor) -> torch.Tensor:
        return F.conv2d(image, window)

    mu_x, mu_y = local_mean(x), local_mean(y)
    var_x = local_mean(x * x) - mu_x.pow(2)
    var_y = local_mean(y * y) - mu_y.pow(2)
    cov = local_mean(x * y) - mu_x * mu_y
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    ssim_map = ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / ((mu_x.pow(2) + mu_y.pow(2) + c1) * (var_x + var_y + c2))
    return ssim_map.mean(dim=(-3, -2, -1)).reshape(leading)
