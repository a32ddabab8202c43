"""Training state as bytes that can be read without ever running code from them.

A checkpoint (model and optimiser tensors, step, schedule, RNG states, configuration) is encoded
as one safetensors blob: every tensor and numpy array is an entry named "0", "1", ..., and the
structure around them (dicts, lists, tuples, numbers, strings, None) is JSON in the metadata entry
`tsstudio_state`. Decoding parses JSON and raw tensor buffers only, so a crafted file can at worst
be refused. This is format version 2; version 1 (run-file schema 1) was a `torch.save` pickle, read
by `decode_legacy` through torch's weights-only unpickler with numpy's array globals allowed.
"""

from __future__ import annotations

import io
import json
from typing import Any

import numpy as np
import torch
from safetensors.torch import load as _st_load
from safetensors.torch import save as _st_save

from tsstudio.errors import TsstudioError

FORMAT = "tsstudio-state"
FORMAT_VERSION = 2
_META_KEY = "tsstudio_state"
_TAGS = ("dict", "list", "tuple", "tensor", "ndarray")
UNREADABLE = "checkpoint is unreadable or not a tsstudio checkpoint"


class StateFormatError(TsstudioError):
    """Bytes that are not a readable tsstudio training state."""

    def __init__(self, where: str = "") -> None:
        super().__init__(f"{where}: {UNREADABLE}" if where else UNREADABLE)


def encode(obj: Any) -> bytes:
    """Encode nested dicts/lists/tuples of tensors, arrays, numbers, strings and None as bytes."""
    tensors: dict[str, torch.Tensor] = {}

    def walk(value: Any) -> Any:
        if value is None or isinstance(value, (bool, int, float, str)):
            return value
        if isinstance(value, np.generic):
            return value.item()
        if isinstance(value, torch.Tensor):
            key = str(len(tensors))
            tensors[key] = value.detach().to("cpu").contiguous().clone()  # no shared storage
            return {"tensor": key}
        if isinstance(value, np.ndarray):
            if value.dtype.kind not in "biuf":
                raise TypeError(f"cannot store a numpy array of dtype {value.dtype} in a training state")
            key = str(len(tensors))
            tensors[key] = torch.from_numpy(np.ascontiguousarray(value).copy())
            return {"ndarray": key}
        if isinstance(value, dict):
            return {"dict": [[walk(k), walk(v)] for k, v in value.items()]}
        if isinstance(value, tuple):
            return {"tuple": [walk(v) for v in value]}
        if isinstance(value, list):
            return {"list": [walk(v) for v in value]}
        raise TypeError(f"cannot store a {type(value).__name__} in a training state")

    skeleton = walk(obj)
    meta = {"format": FORMAT, "version": FORMAT_VERSION, "tree": skeleton}
    return _st_save(tensors, metadata={_META_KEY: json.dumps(meta)})


def is_encoded(data: bytes) -> bool:
    """Whether `data` looks like a version-2 state (a safetensors header naming our format)."""
    try:
        return _header_meta(data) is not None
    except Exception:
        return False


def _header_meta(data: bytes) -> dict[str, Any] | None:
    if len(data) < 8:
        return None
    n = int.from_bytes(data[:8], "little")
    if n <= 0 or n > len(data) - 8:
        return None
    header = json.loads(data[8 : 8 + n])
    meta = header.get("__metadata__") if isinstance(header, dict) else None
    text = meta.get(_META_KEY) if isinstance(meta, dict) else None
    if not isinstance(text, str):
        return None
    value = json.loads(text)
    if not isinstance(value, dict) or value.get("format") != FORMAT or value.get("version") != FORMAT_VERSION:
        return None
    return value


def decode(data: bytes) -> Any:
    """Inverse of `encode` (tensors on the CPU); anything else raises `StateFormatError`."""
    try:
        meta = _header_meta(bytes(data))
        if meta is None:
            raise StateFormatError()
        tensors = _st_load(bytes(data))
        return _rebuild(meta["tree"], tensors)
    except StateFormatError:
        raise
    except Exception as exc:  # malformed JSON, buffers, nesting or keys: all mean "not ours"
        raise StateFormatError() from exc


def _rebuild(node: Any, tensors: dict[str, torch.Tensor]) -> Any:
    if node is None or isinstance(node, (bool, int, float, str)):
        return node
    if not isinstance(node, dict) or len(node) != 1:
        raise StateFormatError()
    (tag, value), = node.items()
    if tag not in _TAGS:
        raise StateFormatError()
    if tag in ("tensor", "ndarray"):
        if not isinstance(value, str) or value not in tensors:
            raise StateFormatError()
        return tensors[value] if tag == "tensor" else tensors[value].numpy()
    if not isinstance(value, list):
        raise StateFormatError()
    if tag == "dict":
        out = {}
        for pair in value:
            if not isinstance(pair, list) or len(pair) != 2:
                raise StateFormatError()
            key = _rebuild(pair[0], tensors)
            if not isinstance(key, (str, int, float, bool)) and key is not None:
                raise StateFormatError()
            out[key] = _rebuild(pair[1], tensors)
        return out
    items = [_rebuild(v, tensors) for v in value]
    return tuple(items) if tag == "tuple" else items


def _legacy_globals() -> list[Any]:
    """The numpy globals a version-1 state needs (the numpy RNG state holds a uint32 array)."""
    try:
        from numpy._core.multiarray import _reconstruct
    except ImportError:  # numpy < 2
        from numpy.core.multiarray import _reconstruct  # type: ignore[no-redef]
    allowed: list[Any] = [_reconstruct, np.ndarray, np.dtype]
    allowed += [type(np.dtype(t)) for t in ("u1", "u4", "i4", "i8", "f4", "f8", "?")]
    return allowed


def decode_legacy(data: bytes) -> Any:
    """Read a version-1 state (`torch.save` pickle) without running code from it.

    torch's weights-only unpickler refuses every global outside its tensor types and the explicit
    numpy allow-list above, so a crafted pickle raises `StateFormatError` instead of executing.
    """
    try:
        with torch.serialization.safe_globals(_legacy_globals()):
            return torch.load(io.BytesIO(bytes(data)), map_location="cpu", weights_only=True)
    except Exception as exc:
        raise StateFormatError() from exc
