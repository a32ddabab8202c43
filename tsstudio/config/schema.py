"""Typed run configuration: every stage-1 hyperparameter of the method, with its defaults.

Each field carries its allowed range or values and a one-line help text in its metadata, so
validation, the CLI and the app's configuration form all read the same source.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any


def spec(
    default: Any,
    help: str,
    *,
    low: float | None = None,
    high: float | None = None,
    choices: tuple[Any, ...] | None = None,
    low_open: bool = False,
) -> Any:
    """A dataclass field with its help text and the bounds validation checks."""
    meta = {"help": help, "low": low, "high": high, "choices": choices, "low_open": low_open}
    return field(default=default, metadata=meta)


@dataclass
class DataConfig:
    """Which dataset and how it is scaled."""

    dataset: str = spec("CBF", "Dataset name (the built-in CBF, or a dataset in the data folders: UCR, .ts, NumPy, CSV).")
    scaling: bool = spec(True, "Scale both splits with the train split's global mean and std.")
    label_column: str = spec("", "CSV datasets: the label column (a name or 1-based number; 'none': unlabelled; "
                                 "empty: a 'label'/'class' header column, else the first).")


@dataclass
class STFTConfig:
    """Short-time Fourier transform that turns a series into the 2-channel (re, im) image."""

    n_fft: int = spec(8, "FFT size; n_fft/2+1 frequency bins.", choices=(4, 8, 16, 32))
    hop_length: int = spec(2, "Hop between frames in samples (method: n_fft/4).", low=1, high=64)


@dataclass
class EncoderConfig:
    """Convolutional encoder from the STFT image to the latent grid."""

    dim: int = spec(64, "Channels of the encoder and of each code vector.", low=4, high=1024)
    n_resnet_blocks: int = spec(4, "Residual blocks after downsampling.", low=0, high=16)
    downsampled_width: int = spec(8, "Target latent width; sets the downsample rate.", low=1, high=512)
    dropout: float = spec(0.0, "Dropout probability in encoder blocks.", low=0.0, high=0.9)


@dataclass
class DecoderConfig:
    """Convolutional decoder from the (quantised) latent grid back to the STFT image."""

    dim: int = spec(64, "Channels of the decoder.", low=4, high=1024)
    n_resnet_blocks: int = spec(4, "Residual blocks before upsampling.", low=0, high=16)
    dropout: float = spec(0.0, "Dropout probability in decoder blocks.", low=0.0, high=0.9)


@dataclass
class QuantizerConfig:
    """EMA vector quantiser (codebook)."""

    codebook_size: int = spec(32, "Number of code vectors K.", low=2, high=65535)
    decay: float = spec(0.9, "EMA decay of code counts and sums.", low=0.0, high=1.0, low_open=True)
    commitment_weight: float = spec(1.0, "Weight of the commitment loss MSE(z, sg(e)).", low=0.0, high=100.0)
    eps: float = spec(1e-5, "Laplace smoothing of EMA code counts.", low=0.0, high=1.0, low_open=True)
    kmeans_init: bool = spec(False, "Initialise the codebook by k-means on the first batch (not in the reference).")
    kmeans_iters: int = spec(10, "k-means iterations for the initialisation.", low=1, high=100)
    dead_code_threshold: float = spec(
        0.0,
        "Restart codes whose EMA count falls below this with encoder outputs; 0 disables (reference).",
        low=0.0,
        high=1e6,
    )


AUGMENTATIONS = (
    "amplitude_resize",
    "window_warp",
    "slice_and_shuffle",
    "gaussian_noise",
    "flip",
    "slope",
    "noise_window",
    "magnitude_warp",
)
SSL_METHODS = ("none", "barlowtwins", "vibcreg", "vicreg")


@dataclass
class AugmentationConfig:
    """Augmentations of the SSL branch, applied in list order, with their parameters (method §6)."""

    methods: tuple[str, ...] = spec((), "Augmentations applied in this order to make the second view.", choices=AUGMENTATIONS)
    amplitude_resize_sigma: float = spec(0.2, "Amplitude resize: scale the series by 1 + N(0, sigma).", low=0.0, high=10.0)
    window_warp_ratio: float = spec(0.4, "Window warp: window length as a fraction of L.", low=0.0, high=1.0, low_open=True)
    window_warp_min: float = spec(0.9, "Window warp: smallest stretch factor of the window.", low=0.0, high=10.0, low_open=True)
    window_warp_max: float = spec(2.0, "Window warp: largest stretch factor of the window.", low=0.0, high=10.0, low_open=True)
    slice_segments: int = spec(4, "Slice and shuffle: number of pieces the series is cut into.", low=2, high=64)
    gaussian_noise_std: float = spec(0.05, "Gaussian noise: std of the noise added at every step.", low=0.0, high=10.0)
    slope_max: float = spec(0.005, "Slope: the added trend a*t has a ~ U(-max, max) per time step.", low=0.0, high=1.0)
    noise_window_std: float = spec(0.1, "Noise window: std of the noise added inside the window.", low=0.0, high=10.0)
    noise_window_ratio: float = spec(0.4, "Noise window: window length as a fraction of L.", low=0.0, high=1.0, low_open=True)
    magnitude_warp_sigma: float = spec(0.2, "Magnitude warp: std of the spline knots around 1.", low=0.0, high=10.0)
    magnitude_warp_knots: int = spec(4, "Magnitude warp: interior knots of the smooth multiplier.", low=1, high=64)


@dataclass
class SSLConfig:
    """The second, augmented branch and its self-supervised loss (method §5.2)."""

    method: str = spec("none", "Self-supervised loss on the augmented branch (none: regular VQ-VAE).", choices=SSL_METHODS)
    weight: float = spec(1.0, "Global weight of the SSL loss (Barlow Twins 1.0, VIbCReg 0.01).", low=0.0, high=1e6)
    aug_recon_rate: float = spec(0.1, "Weight of the augmented view's reconstruction loss.", low=0.0, high=1e3)
    proj_hidden: int = spec(4096, "Hidden width of the projector MLP.", low=8, high=65536)
    proj_out: int = spec(4096, "Output width of the projector.", low=8, high=65536)
    bt_lambda: float = spec(0.005, "Barlow Twins: weight of the off-diagonal (redundancy) term.", low=0.0, high=1e3)
    vib_lambda: float = spec(25.0, "VIbCReg/VICReg: weight of the invariance (MSE) term.", low=0.0, high=1e6)
    vib_mu: float = spec(25.0, "VIbCReg/VICReg: weight of the variance term.", low=0.0, high=1e6)
    vib_nu: float = spec(100.0, "VIbCReg/VICReg: weight of the (de)correlation term.", low=0.0, high=1e6)
    iternorm_groups: int = spec(64, "VIbCReg: IterNorm whitening groups (proj_out must divide evenly).", low=1, high=4096)
    iternorm_iters: int = spec(5, "VIbCReg: Newton-Schulz iterations of IterNorm.", low=1, high=50)


PRIOR_VARIANTS = ("regular", "token-context", "learnable-codebook")


@dataclass
class PriorConfig:
    """The stage-2 MaskGIT prior over the token grid and its iterative decoding (method §9)."""

    variant: str = spec("regular", "What the transformer consumes: token ids, frozen codewords, or fine-tuned codewords.",
                        choices=PRIOR_VARIANTS)
    hidden_dim: int = spec(256, "Width of the transformer.", low=8, high=8192)
    n_layers: int = spec(4, "Transformer layers.", low=1, high=64)
    heads: int = spec(2, "Attention heads.", low=1, high=64)
    dim_head: int = spec(64, "Width of each attention head (attention width = heads × dim_head).", low=4, high=1024)
    ff_mult: int = spec(1, "Feed-forward width as a multiple of hidden_dim.", low=1, high=16)
    dropout: float = spec(0.0, "Dropout in attention and feed-forward layers.", low=0.0, high=0.9)
    p_unconditional: float = spec(0.2, "Training only: probability a label is replaced by the null class.", low=0.0, high=1.0)
    stochastic_tokens: float = spec(
        0.0,
        "Token sampling temperature for training tokens; 0 uses the nearest code (tokens cached once).",
        low=0.0,
        high=100.0,
    )
    decoding_steps: int = spec(10, "Iterative decoding steps T.", low=1, high=1000)
    choice_temperature: float = spec(4.0, "Gumbel noise scale on confidences, annealed to 0 over the steps.", low=0.0, high=100.0)
    sampling_temperature: float = spec(1.0, "Softmax temperature when sampling tokens.", low=0.0, high=100.0, low_open=True)
    guidance_scale: float = spec(1.0, "Classifier-free guidance scale w (1: plain conditional).", low=0.0, high=100.0)


@dataclass
class TrainerConfig:
    """Optimiser, schedule, budget and runtime settings."""

    epochs: int = spec(1000, "Training epochs (used when max_steps is 0).", low=1, high=1_000_000)
    max_steps: int = spec(0, "Step budget; overrides epochs when > 0.", low=0, high=100_000_000)
    batch_size: int = spec(128, "Training batch size.", low=1, high=65536)
    lr: float = spec(1e-3, "AdamW learning rate (cosine-annealed to 0).", low=0.0, high=1.0, low_open=True)
    weight_decay: float = spec(1e-3, "AdamW weight decay.", low=0.0, high=1.0)
    seed: int = spec(1, "Seed of every random number generator of the run.", low=0, high=2**31 - 1)
    device: str = spec("auto", "Device to train on.", choices=("auto", "cpu", "cuda", "mps"))
    precision: str = spec(
        "auto",
        "Autocast precision; auto uses bf16 where the hardware runs it natively.",
        choices=("auto", "fp32", "bf16"),
    )
    num_threads: int = spec(0, "torch CPU threads; 0 keeps torch's default.", low=0, high=1024)
    val_every_epochs: int = spec(20, "Test-set reconstruction error every N epochs (0: only at the end).", low=0, high=1_000_000)
    snapshot_every_steps: int = spec(50, "Reconstruction and codebook-usage snapshot every N steps.", low=1, high=1_000_000)
    checkpoint_every_steps: int = spec(500, "Checkpoint the training state every N steps.", low=1, high=10_000_000)
    n_snapshot_series: int = spec(6, "Fixed test series whose reconstructions are recorded.", low=0, high=64)


@dataclass
class ProbeConfig:
    """SVM and KNN probes on mean-pooled quantised latents."""

    every_epochs: int = spec(100, "Probe every N epochs during training (0: only at the end).", low=0, high=1_000_000)
    at_start: bool = spec(True, "Probe before the first step too.")
    knn_neighbors: int = spec(5, "Neighbours of the KNN probe.", low=1, high=1000)
    svm_c: float = spec(1.0, "C of the linear SVM probe.", low=0.0, high=1e6, low_open=True)
    svm_max_iter: int = spec(
        200_000, "Iteration cap of the SVM solver (an untrained model's features can take it minutes).", low=1000, high=10**9
    )
    batch_size: int = spec(256, "Batch size for feature extraction.", low=1, high=65536)


@dataclass
class RunConfig:
    """The whole configuration of a tokenizer run."""

    preset: str = spec("custom", "Name of the preset this configuration started from.")
    data: DataConfig = field(default_factory=DataConfig)
    stft: STFTConfig = field(default_factory=STFTConfig)
    encoder: EncoderConfig = field(default_factory=EncoderConfig)
    decoder: DecoderConfig = field(default_factory=DecoderConfig)
    quantizer: QuantizerConfig = field(default_factory=QuantizerConfig)
    ssl: SSLConfig = field(default_factory=SSLConfig)
    augmentations: AugmentationConfig = field(default_factory=AugmentationConfig)
    prior: PriorConfig = field(default_factory=PriorConfig)
    trainer: TrainerConfig = field(default_factory=TrainerConfig)
    probes: ProbeConfig = field(default_factory=ProbeConfig)


def sections(config: RunConfig) -> dict[str, Any]:
    """The section objects of a configuration, by name, in schema order."""
    return {
        f.name: getattr(config, f.name)
        for f in dataclasses.fields(config)
        if dataclasses.is_dataclass(getattr(config, f.name))
    }
