"""STFT round trip, token-grid geometry and tokenizer shapes."""

import pytest
import torch

from tsstudio.config import RunConfig
from tsstudio.models import Tokenizer, istft, stft, token_grid


@pytest.mark.parametrize("length", [64, 65, 96, 140, 151, 500, 945])
def test_stft_round_trip_keeps_exact_length(length):
    x = torch.randn(3, 1, length, dtype=torch.float32)
    u = stft(x, n_fft=8, hop_length=2)
    assert u.shape == (3, 2, 5, 1 + length // 2)
    back = istft(u, length, n_fft=8, hop_length=2)
    assert back.shape == x.shape
    assert torch.allclose(back, x, atol=1e-5)


def test_stft_channels_are_real_then_imaginary():
    x = torch.randn(2, 1, 40)
    u = stft(x)
    ref = torch.stft(x[:, 0], 8, 2, 8, torch.hann_window(8), center=True, return_complex=True)
    assert torch.allclose(u[:, 0], ref.real, atol=1e-6)
    assert torch.allclose(u[:, 1], ref.imag, atol=1e-6)


# (length, expected (H, W)) for the datasets in the shared UCR folder and the method's table
GRIDS = {
    "ArrowHead": (251, (5, 7)),
    "ECG5000": (140, (5, 8)),
    "ElectricDevices": (96, (5, 12)),
    "FordA": (500, (5, 15)),
    "GunPoint": (150, (5, 9)),
    "Mallat": (1024, (5, 8)),
    "Wafer": (152, (5, 9)),
    "UWaveGestureLibraryAll": (945, (5, 14)),
    "SonyAIBORobotSurface2": (65, (5, 8)),
    "Symbols": (398, (5, 12)),
}


@pytest.mark.parametrize("name", sorted(GRIDS))
def test_token_grid_matches_method_table(name):
    length, (h, w) = GRIDS[name]
    grid = token_grid(RunConfig(), length)
    assert (grid.height, grid.width) == (h, w)
    assert grid.n_tokens == h * w


@pytest.mark.parametrize("name", ["FordA", "GunPoint", "ECG5000", "ArrowHead"])
def test_tokenizer_forward_shapes(name):
    length, (h, w) = GRIDS[name]
    torch.manual_seed(0)
    model = Tokenizer(RunConfig(), length)
    x = torch.randn(4, length)
    out = model(x)
    assert out.z.shape == (4, 64, h, w)
    assert out.indices.shape == (4, h, w)
    assert out.x_hat.shape == (4, 1, length)
    assert out.u_hat.shape == out.u.shape == (4, 2, 5, 1 + length // 2)
    assert int(out.counts.sum()) == 4 * h * w


def test_fordA_grid_is_75_tokens_of_32_codes_64_wide():
    model = Tokenizer(RunConfig(), 500)
    assert model.grid.n_tokens == 75
    assert tuple(model.quantizer.codebook.shape) == (32, 64)


def test_decode_tokens_matches_forward_in_eval_mode():
    torch.manual_seed(1)
    model = Tokenizer(RunConfig(), 150).eval()
    x = torch.randn(3, 150)
    with torch.no_grad():
        out = model(x)
    series = model.decode_tokens(model.tokens(x))
    assert torch.allclose(series, out.x_hat[:, 0], atol=1e-5)


def test_gradients_reach_encoder_through_straight_through():
    torch.manual_seed(2)
    model = Tokenizer(RunConfig(), 96)
    x = torch.randn(8, 96)
    out = model(x)
    recon_time, recon_stft = model.reconstruction_losses(x, out)
    (recon_time + recon_stft + out.commit_loss).backward()
    first_conv = model.encoder.stem[0].weight
    assert first_conv.grad is not None and first_conv.grad.abs().sum() > 0


@pytest.mark.parametrize("length", [33, 128, 151])
def test_numpy_stft_magnitude_matches_the_model_transform(length):
    from tsstudio.models.stft import stft_magnitude

    x = torch.randn(length)
    u = stft(x[None, None], n_fft=8, hop_length=2)[0]
    expected = torch.sqrt(u[0] ** 2 + u[1] ** 2).numpy()
    got = stft_magnitude(x.numpy(), n_fft=8, hop_length=2)
    assert got.shape == expected.shape and got.flags["C_CONTIGUOUS"]
    assert abs(got - expected).max() < 1e-4
