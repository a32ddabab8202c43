"""The run file: one HDF5 file per training run, written live under SWMR and read by anyone.

`RunFileWriter` is the training loop's event callback and the only writer of a run file. It
creates every dataset and attribute up front, then switches SWMR on, so other processes (the GUI,
`tsstudio` commands) can follow a run while it trains. `RunFile` reads a run file, live or
finished, including one whose writer was killed. The schema is documented in `docs/run-file.md`.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import errno
import json
import math
import os
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import h5py
import numpy as np

import tsstudio
from tsstudio.errors import RunFileError
from tsstudio.train.events import (
    BestWeights,
    Checkpoint,
    EvalMetrics,
    Event,
    Failed,
    Finished,
    RunStarted,
    Snapshot,
    StepMetrics,
)

SCHEMA_VERSION = 2
"""Version of the layout documented in docs/run-file.md; bumped on incompatible changes only.

2: checkpoint and best-weights bytes are `tsstudio.train.state_format` states (never pickles).
1: they were `torch.save` pickles; still read, through torch's weights-only unpickler.
"""

HEARTBEAT_TIMEOUT_S = 120.0  # a writer on another host is presumed gone after this long without a flush
SAME_HOST_HEARTBEAT_TIMEOUT_S = 6 * 3600.0  # on this host the pid decides; this only guards pid reuse
"""A `running` run whose heartbeat is older than this is reported as `interrupted`."""

STATUS_LEN = 16
ERROR_LEN = 512
METRIC_NAME_LEN = 64

METRIC_DTYPE = np.dtype([("step", "<i8"), ("epoch", "<f8"), ("value", "<f8")])
METRIC_FILL = np.array((-1, np.nan, np.nan), dtype=METRIC_DTYPE)[()]
"""Rows a writer has allocated but not yet filled read as step -1 (seen only inside the writer's process)."""
PROGRESS_DTYPE = np.dtype([("step", "<i8"), ("epoch", "<f8"), ("heartbeat", "<f8"), ("elapsed_s", "<f8")])
BEST_INFO_DTYPE = np.dtype([("step", "<i8"), ("value", "<f8"), ("metric", f"S{METRIC_NAME_LEN}")])

FINAL_STATUSES = ("finished", "stopped", "failed")
_METRIC_CHUNK = 1024
_BYTES_CHUNK = 1 << 18
_CONSISTENCY_HINT = "h5clear"  # part of HDF5's message when the SWMR/consistency flag is still set


def _now_iso() -> str:
    return _dt.datetime.now().astimezone().isoformat(timespec="milliseconds")


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, (set, frozenset)):
        return sorted(obj)
    if isinstance(obj, Path):
        return str(obj)
    return str(obj)


def _to_json(obj: Any) -> str:
    return json.dumps(obj, default=_json_default)


def _attr_value(value: Any) -> Any:
    """Convert a Python value to something h5py stores as an attribute (None → '')."""
    if value is None:
        return ""
    if isinstance(value, dict):
        return _to_json(value)
    if isinstance(value, (list, tuple)):
        return np.asarray(value)
    return value


def _py(value: Any) -> Any:
    """Convert an attribute read back by h5py to a plain Python value."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, np.generic):
        return value.item()
    return value


def _fixed(text: str, size: int) -> bytes:
    """Encode text into at most `size` bytes of UTF-8, cutting on a character boundary."""
    raw = text.encode("utf-8")[:size]
    return raw.decode("utf-8", "ignore").encode("utf-8")


def _metric_key(name: str) -> str:
    """The dataset name of a metric: '/' would create groups, so it is replaced."""
    key = name.replace("/", "|")
    return f"_{key}" if key in (".", "..", "") else key


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    # A killed child that nobody waited for yet is a zombie: dead for our purposes.
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            state = fh.read().rsplit(")", 1)[-1].split()[0]
        return state not in ("Z", "X")
    except (OSError, IndexError):
        return True


def _is_consistency_error(exc: BaseException) -> bool:
    text = str(exc)
    return _CONSISTENCY_HINT in text or "already open for write" in text


def _open_h5_read(path: Path, live: bool) -> tuple[h5py.File, bool]:
    """Open a run file read-only; returns (file, opened_with_swmr).

    A file being written, or one whose writer was killed, still carries HDF5's SWMR write flag and
    refuses a normal open, so fall back to an SWMR read open, and finally to no file locking (for
    file systems where locking fails).
    """
    if not path.exists():
        raise RunFileError(f"{path}: no such run file")
    if not path.is_file():
        raise RunFileError(f"{path}: not a file")
    attempts: list[dict[str, Any]] = []
    if not live:
        attempts.append({})
    attempts.append({"swmr": True, "libver": "latest"})
    attempts.append({"swmr": True, "libver": "latest", "locking": False})
    last: Exception | None = None
    for kwargs in attempts:
        try:
            return h5py.File(path, "r", **kwargs), bool(kwargs.get("swmr"))
        except OSError as exc:
            last = exc
            if "file signature not found" in str(exc):
                raise RunFileError(f"{path}: not an HDF5 file") from exc
        except Exception as exc:  # pragma: no cover - h5py raising something unexpected
            last = exc
    raise RunFileError(f"{path}: cannot open run file ({_one_line(last)})") from last


def _one_line(exc: BaseException | None) -> str:
    if exc is None:
        return "unknown error"
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def is_out_of_space(exc: BaseException | None) -> bool:
    """Whether `exc` (or what caused it) is a full disk or quota; HDF5 only puts errno in its text."""
    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        text = str(exc)
        if "No space left on device" in text or "errno = 28," in text or "Disk quota exceeded" in text:
            return True
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return False


def _no_space(path: Path) -> RunFileError:
    return RunFileError(f"{path}: no space left on device; the run is unchanged")


RESERVE_BYTES = 1 << 20
_ROOM_MARGIN = 256 << 10  # metadata and metric rows on top of a checkpoint's bytes


def reserve_path(path: str | os.PathLike[str]) -> Path:
    """The disk-space reserve a writer keeps beside its run file (see `RunFileWriter._make_reserve`)."""
    return Path(str(path) + ".space-reserve")


def resume_tmp_path(path: str | os.PathLike[str]) -> Path:
    """Where a resume keeps the original run file while it writes the new one."""
    return Path(str(path) + ".resume-tmp")


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):  # not every file system lets a folder be fsynced
        _fsync(folder)


def _unreadable(path: Path) -> RunFileError:
    from tsstudio.train import state_format  # imports torch: only where checkpoints are read

    return RunFileError(f"{path}: {state_format.UNREADABLE}")


def _decode_state(path: Path, data: bytes, schema: int) -> tuple[bytes, Any]:
    """(format-2 bytes, decoded state) of stored checkpoint bytes; RunFileError when unreadable.

    Schema-1 files hold `torch.save` pickles: read with the weights-only unpickler and re-encoded.
    """
    from tsstudio.train import state_format  # imports torch: only where checkpoints are read

    try:
        if schema <= 1 and not state_format.is_encoded(data):
            state = state_format.decode_legacy(data)
            return state_format.encode(state), state
        return data, state_format.decode(data)
    except (state_format.StateFormatError, TypeError, ValueError) as exc:
        raise _unreadable(path) from exc


def _schema_of(f: h5py.File) -> int:
    try:
        return int(_py(f.attrs.get("schema_version", 0)))
    except (TypeError, ValueError):
        return 0


def refuse_if_live(path: Path) -> None:
    """Refuse to replace or move a run file whose writer is still alive (on this host: its pid).

    Every code path that replaces an existing run file (a new run with `--overwrite`, a sweep
    starting over, a resume) calls this first, so a live run is never truncated under its writer.
    """
    if not path.exists():
        return
    try:
        rf = RunFile._open_exact(path, live=False)
    except RunFileError:
        return  # not a readable run file: no writer can be following it
    with rf:
        if rf.status != "running":
            return
        pid = rf.attrs.get("pid", "?")
    raise RunFileError(f"{path}: the run is still being written by process {pid}; stop it before overwriting")


class RunFileWriter:
    """Writes one run file from training events; use an instance as the loop's event callback.

    Metric rows are buffered and appended in blocks at most every `flush_every_s` seconds (and on
    every snapshot, checkpoint, evaluation and the end), so a kill loses at most that much.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        extra_attrs: dict[str, Any] | None = None,
        resume: bool = False,
        flush_every_s: float = 2.0,
    ) -> None:
        self.path = Path(path)
        self.extra_attrs = dict(extra_attrs or {})
        self.resume = resume
        self.flush_every_s = float(flush_every_s)
        self._f: h5py.File | None = None
        self._lock = threading.RLock()
        self._closed = False
        self._status = "new"
        self._metric_ds: dict[str, h5py.Dataset] = {}
        self._buffers: dict[str, list[tuple[int, float, float]]] = {}
        self._unknown_metrics: set[str] = set()
        self._last_flush = 0.0
        self._t0 = time.monotonic()
        self._step = 0
        self._epoch = 0.0
        self._slot_step = [-1, -1]
        self._snapshot_shape: tuple[int, int] = (0, 0)
        self._codebook_size = 0
        self._broken: RunFileError | None = None
        self.final_attrs_written = False

    # ------------------------------------------------------------------ event dispatch
    def __call__(self, event: Event) -> None:
        """Record one training event (the EventCallback protocol)."""
        with self._lock:
            if self._broken is not None:
                if isinstance(event, (Failed, Finished)):
                    return  # the run already ended with the write error
                raise self._broken
            if self._closed:
                raise RunFileError(f"{self.path}: run file writer is already closed")
            if isinstance(event, RunStarted):
                self._start(event)
                return
            if self._f is None and isinstance(event, (Failed, Finished)):
                self._closed = True  # the run never started: no file is written, none is left half-written
                return
            if self._f is None:
                raise RunFileError(f"{self.path}: event {type(event).__name__} before RunStarted")
            try:
                self._dispatch(event)
            except Exception as exc:
                if is_out_of_space(exc):
                    self._abandon(exc)
                if isinstance(exc, RunFileError):
                    raise
                if isinstance(exc, (OSError, RuntimeError, KeyError)):
                    raise RunFileError(f"{self.path}: cannot write run file ({_one_line(exc)})") from exc
                raise

    def _abandon(self, exc: BaseException) -> None:
        """After a full disk: stop writing and close the file as it is, then raise one line.

        Checkpoint slots are only marked valid once their bytes are on disk, so the last complete
        checkpoint stays readable and the run can be resumed when there is space again.
        """
        kept = max(self._slot_step)
        where = f"its checkpoint of step {kept} is kept" if kept >= 0 else "no checkpoint had been written"
        self._broken = RunFileError(
            f"{self.path}: no space left on device; training stopped at step {self._step} and {where}"
        )
        f, self._f = self._f, None
        self._closed, self._status = True, "failed"
        self._drop_reserve()  # HDF5 must write its metadata to close the file; without room it crashes later
        if f is not None:
            # No flush before the close: every failed write attempt eats into the freed room.
            with contextlib.suppress(Exception):
                for i, step in enumerate(self._slot_step):
                    if step < 0:
                        f[f"checkpoint/slot{i}"].resize((0,))  # its half-written chunks need no writing
                f["error_live"][0] = _fixed("no space left on device", ERROR_LEN)
                f["status_live"][0] = _fixed("failed", STATUS_LEN)
            with contextlib.suppress(Exception):
                f.close()
        raise self._broken from exc

    def _ensure_room(self, nbytes: int) -> None:
        """Refuse a large write the disk cannot hold before any of it lands in the file."""
        with contextlib.suppress(OSError):
            if shutil.disk_usage(self.path.parent).free < nbytes + _ROOM_MARGIN:
                raise OSError(errno.ENOSPC, "No space left on device")

    def _dispatch(self, event: Event) -> None:
        if isinstance(event, StepMetrics):
            self._add_metrics(event.step, event.epoch, event.metrics)
            if time.monotonic() - self._last_flush >= self.flush_every_s:
                self.flush()
        elif isinstance(event, EvalMetrics):
            self._add_metrics(event.step, event.epoch, event.metrics)
            self.flush()
        elif isinstance(event, Snapshot):
            self._write_snapshot(event)
        elif isinstance(event, Checkpoint):
            self._advance(event.step, event.epoch)
            self.flush()
            self._write_checkpoint(event)
        elif isinstance(event, BestWeights):
            self._write_best(event)
        elif isinstance(event, Finished):
            self._advance(event.step, event.epoch)
            status = event.status if event.status in ("finished", "stopped") else "finished"
            self._finish(status, elapsed_s=event.elapsed_s)
        elif isinstance(event, Failed):
            self._advance(event.step, self._epoch)
            self._finish("failed", error=event.message, details=event.details)
        else:
            raise RunFileError(f"{self.path}: unknown event {type(event).__name__}")

    # ------------------------------------------------------------------ creation
    def _start(self, ev: RunStarted) -> None:
        if self._f is not None:
            raise RunFileError(f"{self.path}: RunStarted sent twice")
        self._t0 = time.monotonic()
        self._step = int(ev.start_step)
        self._epoch = ev.start_step / ev.steps_per_epoch if ev.steps_per_epoch else 0.0
        self._snapshot_shape = (int(np.asarray(ev.snapshot_inputs).shape[0]), int(ev.length))
        self._codebook_size = int(ev.codebook_size)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        refuse_if_live(self.path)
        self._make_reserve()
        try:
            self._create(ev)
        except BaseException:
            self._drop_reserve()
            raise
        self._status = "running"
        self._open_handles()
        self._last_flush = time.monotonic()

    def _make_reserve(self) -> None:
        """Hold RESERVE_BYTES of disk beside the run, released when the disk fills or the run ends.

        After a failed write HDF5 can only close a file (and must, or it crashes at exit) if it can
        write its metadata; freeing the reserve gives it that room, so the file stays consistent.
        """
        reserve = reserve_path(self.path)
        try:
            with open(reserve, "wb") as fh:
                try:
                    os.posix_fallocate(fh.fileno(), 0, RESERVE_BYTES)
                except (AttributeError, OSError) as exc:
                    if is_out_of_space(exc):
                        raise
                    fh.write(bytes(RESERVE_BYTES))
        except OSError as exc:
            reserve.unlink(missing_ok=True)
            if is_out_of_space(exc):
                what = "the run is unchanged" if self.resume else "no run file was written"
                raise RunFileError(f"{self.path}: no space left on device; {what}") from exc
            raise RunFileError(f"{self.path}: cannot write beside the run file ({_one_line(exc)})") from exc

    def _drop_reserve(self) -> None:
        with contextlib.suppress(OSError):
            reserve_path(self.path).unlink(missing_ok=True)

    def _create(self, ev: RunStarted) -> None:
        if self.resume:
            self._start_resumed(ev)
        else:
            stale = resume_tmp_path(self.path)
            if stale.exists():
                stale.unlink()  # left by a resume of the run this one replaces
            f = h5py.File(self.path, "w", libver="latest")
            try:
                self._write_root_attrs(f, ev)
                self._create_layout(f, ev, source=None, upto=None)
                f.swmr_mode = True
            except Exception as exc:
                self._drop_reserve()
                with contextlib.suppress(Exception):
                    f.close()
                with contextlib.suppress(OSError):
                    self.path.unlink()
                if is_out_of_space(exc):
                    raise RunFileError(f"{self.path}: no space left on device; no run file was written") from exc
                raise
            self._f = f

    def _start_resumed(self, ev: RunStarted) -> None:
        tmp = resume_tmp_path(self.path)
        if tmp.exists():
            # An earlier resume died while copying: the tmp file is the authoritative source
            # (the file at `path` is then missing, truncated or a partial copy).
            if self.path.exists():
                self.path.unlink()
        elif self.path.exists():
            os.replace(self.path, tmp)
        else:
            raise RunFileError(f"{self.path}: cannot resume, the run file does not exist")
        k = int(ev.start_step)
        f: h5py.File | None = None
        try:
            src, _ = _open_h5_read(tmp, live=False)
            try:
                if "schema_version" not in src.attrs:
                    raise RunFileError(f"{tmp}: not a tsstudio run file")
                f = h5py.File(self.path, "w", libver="latest")
                self._write_root_attrs(f, ev)
                old = {key: src.attrs[key] for key in ("created",) if key in src.attrs}
                f.attrs.update(old)
                f.attrs["resumed_from_step"] = k
                f.attrs["resume_count"] = int(_py(src.attrs.get("resume_count", 0))) + 1
                f.attrs["resumed"] = _now_iso()
                self._create_layout(f, ev, source=src, upto=k)
                f.swmr_mode = True
            finally:
                src.close()
        except Exception as exc:
            self._drop_reserve()
            if f is not None:
                with contextlib.suppress(Exception):
                    f.close()
            # Put the original back: the run is as it was before this resume.
            os.replace(tmp, self.path)
            if is_out_of_space(exc):
                raise RunFileError(f"{self.path}: no space left on device; the run is unchanged") from exc
            raise
        self._f = f
        tmp.unlink()
        _fsync_dir(self.path.parent)

    def _write_root_attrs(self, f: h5py.File, ev: RunStarted) -> None:
        cfg = ev.config or {}
        trainer = cfg.get("trainer") if isinstance(cfg, dict) else None
        seed = trainer.get("seed") if isinstance(trainer, dict) else None
        attrs: dict[str, Any] = {
            "schema_version": SCHEMA_VERSION,
            "kind": ev.kind,
            "status": "running",
            "created": _now_iso(),
            "tsstudio_version": tsstudio.__version__,
            "config": _to_json(cfg),
            "dataset": ev.dataset,
            "seed": -1 if seed is None else int(seed),
            "preset": cfg.get("preset") if isinstance(cfg, dict) else None,
            "n_train": int(ev.n_train),
            "n_test": int(ev.n_test),
            "length": int(ev.length),
            "n_classes": int(ev.n_classes),
            "steps_per_epoch": int(ev.steps_per_epoch),
            "total_steps": int(ev.total_steps),
            "start_step": int(ev.start_step),
            "codebook_size": int(ev.codebook_size),
            "token_grid": np.asarray(ev.token_grid, dtype=np.int64),
            "device": ev.device,
            "precision": ev.precision,
            "parameters": int(ev.parameters),
            "train_metrics": _to_json(list(ev.train_metrics)),
            "eval_metrics": _to_json(list(ev.eval_metrics)),
            "pid": os.getpid(),
            "hostname": socket.gethostname(),
        }
        for key, value in self.extra_attrs.items():
            attrs[key] = value
        for key, value in attrs.items():
            f.attrs[key] = _attr_value(value)

    def _create_layout(self, f: h5py.File, ev: RunStarted, source: h5py.File | None, upto: int | None) -> None:
        """Create every group and dataset (optionally filled from `source` up to step `upto`)."""
        k = upto if upto is not None else -1

        def rows_upto(ds: h5py.Dataset) -> np.ndarray:
            data = ds[:]
            return data[data["step"] <= k] if len(data) else data

        # progress and live status
        prog = np.zeros(1, PROGRESS_DTYPE)
        prog["step"] = ev.start_step
        prog["epoch"] = self._epoch
        prog["heartbeat"] = time.time()
        f.create_dataset("progress", data=prog)
        f.create_dataset("status_live", data=np.array([b"running"], dtype=f"S{STATUS_LEN}"))
        f.create_dataset("error_live", data=np.array([b""], dtype=f"S{ERROR_LEN}"))

        # metrics
        names: list[str] = []
        for name in list(ev.train_metrics) + list(ev.eval_metrics):
            if name not in names:
                names.append(name)
        src_metrics: dict[str, h5py.Dataset] = {}
        if source is not None and "metrics" in source:
            for key, ds in source["metrics"].items():
                name = _py(ds.attrs.get("name", key))
                src_metrics[name] = ds
                if name not in names:
                    names.append(name)
        g = f.create_group("metrics")
        for name in names:
            key = _metric_key(name)
            initial = rows_upto(src_metrics[name]) if name in src_metrics else np.zeros(0, METRIC_DTYPE)
            ds = g.create_dataset(
                key,
                data=initial.astype(METRIC_DTYPE),
                maxshape=(None,),
                chunks=(_METRIC_CHUNK,),
                fillvalue=METRIC_FILL,
            )
            ds.attrs["name"] = name
            ds.attrs["group"] = "eval" if name in ev.eval_metrics and name not in ev.train_metrics else "train"

        # snapshots
        S, L = self._snapshot_shape
        g = f.create_group("snapshots")
        g.create_dataset("indices", data=np.asarray(ev.snapshot_indices, dtype=np.int64).reshape(S))
        g.create_dataset("labels", data=np.asarray(ev.snapshot_labels, dtype=np.int64).reshape(S))
        g.create_dataset("inputs", data=np.asarray(ev.snapshot_inputs, dtype=np.float32).reshape(S, L))
        s_step = np.zeros(0, np.int64)
        s_epoch = np.zeros(0, np.float64)
        s_recon = np.zeros((0, S, L), np.float32)
        if source is not None and "snapshots/step" in source:
            src_recon = source["snapshots/recon"]
            if src_recon.shape[1:] == (S, L):
                keep = source["snapshots/step"][:] <= k
                n = int(min(len(keep), src_recon.shape[0], source["snapshots/epoch"].shape[0]))
                keep = keep[:n]
                s_step = source["snapshots/step"][:n][keep]
                s_epoch = source["snapshots/epoch"][:n][keep]
                s_recon = src_recon[:n][keep]
        g.create_dataset("step", data=s_step, maxshape=(None,), chunks=(256,))
        g.create_dataset("epoch", data=s_epoch, maxshape=(None,), chunks=(256,))
        g.create_dataset("recon", data=s_recon, maxshape=(None, S, L), chunks=(1, max(S, 1), max(L, 1)))

        # codebook usage
        K = self._codebook_size
        c_step = np.zeros(0, np.int64)
        c_usage = np.zeros((0, K), np.int64)
        if source is not None and "codebook/usage" in source:
            src_usage = source["codebook/usage"]
            if src_usage.shape[1:] == (K,):
                keep = source["codebook/step"][:] <= k
                n = int(min(len(keep), src_usage.shape[0]))
                keep = keep[:n]
                c_step = source["codebook/step"][:n][keep]
                c_usage = src_usage[:n][keep]
        g = f.create_group("codebook")
        g.create_dataset("step", data=c_step, maxshape=(None,), chunks=(256,))
        rows = max(1, min(256, (1 << 16) // max(8 * K, 1)))
        g.create_dataset("usage", data=c_usage, maxshape=(None, K), chunks=(rows, max(K, 1)))

        # checkpoint slots
        slot_step = np.full(2, -1, np.int64)
        slot_epoch = np.full(2, -1.0, np.float64)
        slot_nbytes = np.zeros(2, np.int64)
        slot0 = np.zeros(0, np.uint8)
        if source is not None:
            found = _read_checkpoint(source, Path(source.filename), max_step=k, prefer_step=k)
            if found is not None:
                step, epoch, state, _ = found
                slot0 = np.frombuffer(state, dtype=np.uint8)
                slot_step[0], slot_epoch[0], slot_nbytes[0] = step, epoch, len(state)
        g = f.create_group("checkpoint")
        g.create_dataset("slot0", data=slot0, maxshape=(None,), chunks=(_BYTES_CHUNK,))
        g.create_dataset("slot1", data=np.zeros(0, np.uint8), maxshape=(None,), chunks=(_BYTES_CHUNK,))
        g.create_dataset("slot_epoch", data=slot_epoch)
        g.create_dataset("slot_nbytes", data=slot_nbytes)
        g.create_dataset("slot_step", data=slot_step)
        self._slot_step = [int(s) for s in slot_step]

        # best weights
        info = np.zeros(1, BEST_INFO_DTYPE)
        info["step"] = -1
        info["value"] = np.nan
        best = np.zeros(0, np.uint8)
        if source is not None:
            found_best = _read_best(source)
            if found_best is not None and found_best[0] <= k:
                step, value, state, metric = found_best
                with contextlib.suppress(RunFileError):  # unreadable bytes stay as they were
                    state = _decode_state(Path(source.filename), state, _schema_of(source))[0]
                best = np.frombuffer(state, dtype=np.uint8)
                info["step"], info["value"], info["metric"] = step, value, _fixed(metric, METRIC_NAME_LEN)
        g = f.create_group("weights")
        ds = g.create_dataset("best", data=best, maxshape=(None,), chunks=(_BYTES_CHUNK,))
        ds.attrs["metric"] = "val_loss"
        ds.attrs["mode"] = "min"
        g.create_dataset("best_info", data=info)

    def _open_handles(self) -> None:
        f = self._f
        assert f is not None
        self._metric_ds = {}
        for key, ds in f["metrics"].items():
            self._metric_ds[_py(ds.attrs.get("name", key))] = ds
        self._buffers = {name: [] for name in self._metric_ds}

    # ------------------------------------------------------------------ writing
    def _advance(self, step: int, epoch: float) -> None:
        if step >= self._step:
            self._step = int(step)
            self._epoch = float(epoch)

    def _add_metrics(self, step: int, epoch: float, metrics: dict[str, float]) -> None:
        self._advance(step, epoch)
        for name, value in metrics.items():
            buf = self._buffers.get(name)
            if buf is None:
                # Datasets cannot be added under SWMR: an unannounced metric is dropped.
                self._unknown_metrics.add(name)
                continue
            try:
                v = float(value)
            except (TypeError, ValueError):
                v = math.nan
            buf.append((int(step), float(epoch), v))

    def flush(self) -> None:
        """Append buffered metric rows, update the progress heartbeat and flush to disk."""
        with self._lock:
            f = self._f
            if f is None:
                return
            for name, buf in self._buffers.items():
                if not buf:
                    continue
                ds = self._metric_ds[name]
                rows = np.array(buf, dtype=METRIC_DTYPE)
                n = ds.shape[0]
                ds.resize((n + len(rows),))
                ds[n:] = rows
                buf.clear()
            self._write_progress()
            f.flush()
            self._last_flush = time.monotonic()

    def touch(self) -> None:
        """Refresh the heartbeat (and flush buffered rows) if the flush interval has passed.

        A loop that goes quiet for minutes (a long evaluation) can call this so readers do not
        mistake the run for an interrupted one.
        """
        with self._lock:
            if self._f is not None and time.monotonic() - self._last_flush >= self.flush_every_s:
                try:
                    self.flush()
                except Exception as exc:
                    if is_out_of_space(exc):
                        self._abandon(exc)
                    raise

    def _write_progress(self) -> None:
        assert self._f is not None
        prog = np.zeros(1, PROGRESS_DTYPE)
        prog["step"] = self._step
        prog["epoch"] = self._epoch
        prog["heartbeat"] = time.time()
        prog["elapsed_s"] = time.monotonic() - self._t0
        self._f["progress"][0:1] = prog

    def _write_snapshot(self, ev: Snapshot) -> None:
        f = self._f
        assert f is not None
        S, L = self._snapshot_shape
        recon = np.asarray(ev.recon, dtype=np.float32)
        if recon.shape != (S, L):
            raise RunFileError(f"{self.path}: snapshot shape {recon.shape} differs from ({S}, {L})")
        usage = np.asarray(ev.codebook_usage, dtype=np.int64).reshape(-1)
        if usage.shape != (self._codebook_size,):
            raise RunFileError(f"{self.path}: codebook usage has {usage.shape[0]} entries, expected "
                               f"{self._codebook_size}")
        self._advance(ev.step, ev.epoch)
        # Data first, step last: a reader that sees a step also sees its data.
        n = f["snapshots/recon"].shape[0]
        f["snapshots/recon"].resize((n + 1, S, L))
        f["snapshots/recon"][n] = recon
        f["snapshots/epoch"].resize((n + 1,))
        f["snapshots/epoch"][n] = ev.epoch
        f["snapshots/step"].resize((n + 1,))
        f["snapshots/step"][n] = ev.step
        m = f["codebook/usage"].shape[0]
        f["codebook/usage"].resize((m + 1, self._codebook_size))
        f["codebook/usage"][m] = usage
        f["codebook/step"].resize((m + 1,))
        f["codebook/step"][m] = ev.step
        self.flush()

    def _write_checkpoint(self, ev: Checkpoint) -> None:
        f = self._f
        assert f is not None
        # Overwrite the slot that does not hold the newest checkpoint; it is invalidated first and
        # marked valid only after its bytes are on disk, so a kill never loses both.
        self._ensure_room(len(ev.state))
        newest = 0 if self._slot_step[0] >= self._slot_step[1] else 1
        slot = 1 - newest if self._slot_step[newest] >= 0 else 0
        g = f["checkpoint"]
        g["slot_step"][slot] = -1
        f.flush()
        self._slot_step[slot] = -1
        data = np.frombuffer(ev.state, dtype=np.uint8)
        ds = g[f"slot{slot}"]
        ds.resize((len(data),))
        if len(data):
            ds[:] = data
        g["slot_nbytes"][slot] = len(data)
        g["slot_epoch"][slot] = ev.epoch
        f.flush()
        g["slot_step"][slot] = ev.step
        f.flush()
        self._slot_step[slot] = int(ev.step)

    def _write_best(self, ev: BestWeights) -> None:
        f = self._f
        assert f is not None
        self._ensure_room(len(ev.state))
        info_ds = f["weights/best_info"]
        info = info_ds[:]
        info["step"] = -1
        info_ds[0:1] = info
        f.flush()
        data = np.frombuffer(ev.state, dtype=np.uint8)
        ds = f["weights/best"]
        ds.resize((len(data),))
        if len(data):
            ds[:] = data
        f.flush()
        info["step"] = ev.step
        info["value"] = ev.value
        info["metric"] = _fixed(ev.metric, METRIC_NAME_LEN)
        info_ds[0:1] = info
        f.flush()

    # ------------------------------------------------------------------ ending
    def _finish(self, status: str, *, elapsed_s: float | None = None, error: str = "", details: str = "") -> None:
        f = self._f
        if f is None:
            self._closed = True
            return
        self._status = status
        elapsed = time.monotonic() - self._t0 if elapsed_s is None else float(elapsed_s)
        try:
            self.flush()
            f["status_live"][0] = _fixed(status, STATUS_LEN)
            if error:
                f["error_live"][0] = _fixed(error, ERROR_LEN)
            prog = f["progress"][:]
            if elapsed_s is not None:
                prog["elapsed_s"] = elapsed_s
                f["progress"][0:1] = prog
            elapsed = float(prog["elapsed_s"][0])
            f.flush()
        except BaseException:
            self._drop_reserve()  # room for HDF5 to close the file cleanly after a failed write
            raise
        finally:
            f.close()
            self._f = None
            self._closed = True
        self._drop_reserve()
        final = {"status": status, "finished": _now_iso(), "elapsed_s": elapsed}
        if status == "failed":
            final["error"] = error
            final["error_details"] = details
        self.final_attrs_written = _set_final_attrs(self.path, final)

    def close(self, status: str = "stopped") -> None:
        """Close the file; without a Finished/Failed event the run is marked `status` (stopped)."""
        with self._lock:
            if self._closed:
                return
            if self._f is None:
                self._closed = True
                return
            self._finish(status)

    def __enter__(self) -> RunFileWriter:
        return self

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        with self._lock:
            if self._closed or self._f is None:
                self._closed = True
                return
            if exc is not None and not isinstance(exc, KeyboardInterrupt):
                self._finish("failed", error=_one_line(exc))
            else:
                self._finish("stopped")

    @property
    def status(self) -> str:
        """'new' before RunStarted, then 'running', then the final status."""
        return self._status


def _set_final_attrs(path: Path, values: dict[str, Any]) -> bool:
    """Set final root attributes on the closed run file (atomically, see `update_run_file`).

    Returns False when that fails (a full disk, or HDF5 refusing to open the file again in this
    process); `status_live` already carries the final status, so readers still see it.
    """

    def change(f: h5py.File) -> None:
        for key, value in values.items():
            f.attrs[key] = _attr_value(value)

    try:
        update_run_file(path, change)
    except RunFileError:
        return False
    return True


def _checkpoint_slots(
    f: h5py.File, max_step: int | None = None, prefer_step: int | None = None
) -> list[tuple[int, float, int]]:
    """(step, epoch, slot) of the complete slots, best first: exactly prefer_step, then newest ≤ max_step."""
    if "checkpoint/slot_step" not in f:
        return []
    steps = f["checkpoint/slot_step"][:]
    epochs = f["checkpoint/slot_epoch"][:]
    nbytes = f["checkpoint/slot_nbytes"][:] if "checkpoint/slot_nbytes" in f else None
    candidates = []
    for i in range(len(steps)):
        step = int(steps[i])
        if step < 0 or (max_step is not None and step > max_step) or f"checkpoint/slot{i}" not in f:
            continue
        ds = f[f"checkpoint/slot{i}"]
        if nbytes is not None and ds.shape[0] != int(nbytes[i]):
            continue
        candidates.append((step == prefer_step, step, float(epochs[i]), i))
    return [(step, epoch, i) for _, step, epoch, i in sorted(candidates, reverse=True)]


def _read_checkpoint(
    f: h5py.File, path: Path, max_step: int | None = None, prefer_step: int | None = None
) -> tuple[int, float, bytes, Any] | None:
    """(step, epoch, format-2 bytes, state) of the best readable slot; None when no slot is filled.

    A slot whose bytes do not decode (random bytes, a crafted pickle) is skipped for the other
    one; when every filled slot is unreadable, RunFileError says so in one line.
    """
    slots = _checkpoint_slots(f, max_step, prefer_step)
    schema = _schema_of(f)
    for step, epoch, i in slots:
        try:
            data, state = _decode_state(path, f[f"checkpoint/slot{i}"][:].tobytes(), schema)
        except RunFileError:
            continue
        return step, epoch, data, state
    if slots:
        raise _unreadable(path)
    return None


def _read_best(f: h5py.File) -> tuple[int, float, bytes, str] | None:
    if "weights/best_info" not in f:
        return None
    info = f["weights/best_info"][:]
    if not len(info) or int(info["step"][0]) < 0:
        return None
    metric = _py(info["metric"][0]) if "metric" in info.dtype.names else _py(f["weights/best"].attrs.get("metric"))
    return int(info["step"][0]), float(info["value"][0]), f["weights/best"][:].tobytes(), str(metric)


def _as_state(path: Path, state: Any) -> dict[str, Any]:
    if not isinstance(state, dict):
        raise _unreadable(path)
    return state


class RunFile:
    """Read access to a run file, finished, live (SWMR) or left behind by a killed writer."""

    def __init__(self, path: Path, f: h5py.File, swmr: bool) -> None:
        self.path = path
        self._f = f
        self.swmr = swmr
        self._attrs = {key: _py(value) for key, value in f.attrs.items()}
        self._metric_paths: dict[str, str] = {}
        if "metrics" in f:
            for key, ds in f["metrics"].items():
                if isinstance(ds, h5py.Dataset):
                    self._metric_paths[str(_py(ds.attrs.get("name", key)))] = f"metrics/{key}"
        self._cache: dict[str, h5py.Dataset] = {}

    @classmethod
    def open(cls, path: str | os.PathLike[str], live: bool = False) -> RunFile:
        """Open a run file read-only; `live=True` opens with SWMR so `refresh()` shows new rows.

        When a resume was killed while copying, `path` is missing or incomplete and the run is in
        `<path>.resume-tmp`: that copy is opened instead (the next resume finishes the recovery).
        """
        p = Path(path)
        try:
            return cls._open_exact(p, live)
        except RunFileError:
            tmp = resume_tmp_path(p)
            if not tmp.is_file():
                raise
        return cls._open_exact(tmp, live)

    @classmethod
    def _open_exact(cls, p: Path, live: bool) -> RunFile:
        f, swmr = _open_h5_read(p, live)
        try:
            if "schema_version" not in f.attrs:
                raise RunFileError(f"{p}: not a tsstudio run file (no schema_version)")
            return cls(p, f, swmr)
        except RunFileError:
            f.close()
            raise
        except Exception as exc:
            f.close()
            raise RunFileError(f"{p}: unreadable run file ({_one_line(exc)})") from exc

    # ------------------------------------------------------------------ plumbing
    def _ds(self, name: str) -> h5py.Dataset | None:
        ds = self._cache.get(name)
        if ds is None:
            obj = self._f.get(name)
            if not isinstance(obj, h5py.Dataset):
                return None
            ds = self._cache[name] = obj
        return ds

    def refresh(self) -> None:
        """Pick up rows a live writer appended since the last call (no-op without SWMR)."""
        if not self.swmr:
            return
        for name in self._live_names():
            ds = self._ds(name)
            if ds is not None:
                ds.refresh()

    def _live_names(self) -> Iterator[str]:
        yield from ("progress", "status_live", "error_live")
        yield from self._metric_paths.values()
        yield from ("snapshots/step", "snapshots/epoch", "snapshots/recon", "codebook/step", "codebook/usage")
        yield from ("checkpoint/slot0", "checkpoint/slot1", "checkpoint/slot_step", "checkpoint/slot_epoch")
        yield from ("checkpoint/slot_nbytes", "weights/best", "weights/best_info")

    def close(self) -> None:
        """Close the underlying HDF5 file (idempotent)."""
        if self._f is not None and self._f.id.valid:
            self._f.close()

    def __enter__(self) -> RunFile:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # ------------------------------------------------------------------ attributes
    @property
    def attrs(self) -> dict[str, Any]:
        """Root attributes as plain Python values (read at open time)."""
        return dict(self._attrs)

    @property
    def schema_version(self) -> int:
        return int(self._attrs.get("schema_version", 0))

    @property
    def kind(self) -> str:
        return str(self._attrs.get("kind", ""))

    @property
    def config(self) -> dict[str, Any]:
        """The run configuration (parsed from the `config` JSON attribute)."""
        text = self._attrs.get("config", "{}")
        try:
            value = json.loads(text) if text else {}
        except (TypeError, ValueError) as exc:
            raise RunFileError(f"{self.path}: config attribute is not valid JSON") from exc
        return value if isinstance(value, dict) else {}

    @property
    def dataset(self) -> str:
        return str(self._attrs.get("dataset", ""))

    @property
    def seed(self) -> int | None:
        seed = self._attrs.get("seed")
        return None if seed is None or seed == -1 else int(seed)

    @property
    def preset(self) -> str | None:
        return self._attrs.get("preset") or None

    @property
    def created(self) -> str:
        return str(self._attrs.get("created", ""))

    @property
    def total_steps(self) -> int:
        return int(self._attrs.get("total_steps", 0))

    def _progress(self) -> np.ndarray | None:
        ds = self._ds("progress")
        if ds is None or ds.shape[0] < 1:
            return None
        return ds[0]

    @property
    def step(self) -> int:
        """The last step flushed by the writer."""
        prog = self._progress()
        return int(prog["step"]) if prog is not None else 0

    @property
    def epoch(self) -> float:
        prog = self._progress()
        return float(prog["epoch"]) if prog is not None else 0.0

    @property
    def heartbeat(self) -> float | None:
        """Unix time of the writer's last flush."""
        prog = self._progress()
        return float(prog["heartbeat"]) if prog is not None else None

    @property
    def elapsed_s(self) -> float | None:
        if "elapsed_s" in self._attrs:
            return float(self._attrs["elapsed_s"])
        prog = self._progress()
        return float(prog["elapsed_s"]) if prog is not None else None

    @property
    def stored_status(self) -> str:
        """The status the writer recorded (attribute, or the live mirror if it is more final)."""
        status = str(self._attrs.get("status", ""))
        if status == "running":
            ds = self._ds("status_live")
            if ds is not None and ds.shape[0]:
                live = _py(ds[0])
                if live:
                    status = str(live)
        return status

    @property
    def status(self) -> str:
        """Effective status: a `running` run whose writer is gone is reported as `interrupted`."""
        status = self.stored_status
        if status != "running":
            return status
        pid = int(self._attrs.get("pid", -1))
        beat = self.heartbeat
        age = time.time() - beat if beat is not None else 0.0
        if self._attrs.get("hostname") == socket.gethostname():
            # the writer's process decides; a very old heartbeat only guards against a reused pid
            alive = _pid_alive(pid) and age <= SAME_HOST_HEARTBEAT_TIMEOUT_S
            return "running" if alive else "interrupted"
        return "interrupted" if age > HEARTBEAT_TIMEOUT_S else "running"

    @property
    def error(self) -> str:
        """The failure message of a failed run ('' otherwise)."""
        if self._attrs.get("error"):
            return str(self._attrs["error"])
        ds = self._ds("error_live")
        return str(_py(ds[0])) if ds is not None and ds.shape[0] else ""

    # ------------------------------------------------------------------ data
    def metric_names(self) -> list[str]:
        return list(self._metric_paths)

    def metric(self, name: str, start: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(steps int64, epochs float64, values float64) of one metric, from row `start` on."""
        path = self._metric_paths.get(name)
        if path is None:
            raise KeyError(f"{self.path}: no metric {name!r}")
        ds = self._ds(path)
        data = ds[start:] if ds is not None else np.zeros(0, METRIC_DTYPE)
        unwritten = np.flatnonzero(data["step"] < 0)
        if len(unwritten):  # a writer in this process has resized but not yet filled these rows
            data = data[: unwritten[0]]
        return (
            np.asarray(data["step"], np.int64),
            np.asarray(data["epoch"], np.float64),
            np.asarray(data["value"], np.float64),
        )

    def metric_length(self, name: str) -> int:
        """Rows of one metric flushed so far (after `refresh` for a live file)."""
        path = self._metric_paths.get(name)
        ds = self._ds(path) if path is not None else None
        return int(ds.shape[0]) if ds is not None else 0

    def headline(self) -> dict[str, float]:
        """The last recorded value of each metric."""
        out: dict[str, float] = {}
        for name, path in self._metric_paths.items():
            ds = self._ds(path)
            if ds is not None and ds.shape[0]:
                out[name] = float(ds[ds.shape[0] - 1]["value"])
        return out

    def snapshots(self, last: int | None = None) -> dict[str, np.ndarray]:
        """Reconstruction snapshots: indices, labels, inputs (S,L), steps, epochs, recon (n,S,L).

        `last` reads only the newest `last` complete snapshots (a live view needs one, not all).
        """
        out: dict[str, np.ndarray] = {}
        for key, name in (("indices", "indices"), ("labels", "labels"), ("inputs", "inputs")):
            ds = self._ds(f"snapshots/{name}")
            out[key] = ds[:] if ds is not None else np.zeros(0)
        step_ds, epoch_ds, recon_ds = (self._ds(f"snapshots/{n}") for n in ("step", "epoch", "recon"))
        if step_ds is None or epoch_ds is None or recon_ds is None:
            out.update(steps=np.zeros(0, np.int64), epochs=np.zeros(0), recon=np.zeros((0, 0, 0), np.float32))
            return out
        # The writer appends recon, then epoch, then step: the step count bounds complete rows.
        n = min(step_ds.shape[0], epoch_ds.shape[0], recon_ds.shape[0])
        first = 0 if last is None else max(0, n - last)
        out["steps"] = step_ds[first:n]
        out["epochs"] = epoch_ds[first:n]
        out["recon"] = recon_ds[first:n]
        return out

    def codebook_usage(self, last: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(steps (n,), usage (n, K)) token counts between consecutive snapshots; `last`: only the newest rows."""
        step_ds, usage_ds = self._ds("codebook/step"), self._ds("codebook/usage")
        if step_ds is None or usage_ds is None:
            return np.zeros(0, np.int64), np.zeros((0, 0), np.int64)
        n = min(step_ds.shape[0], usage_ds.shape[0])
        first = 0 if last is None else max(0, n - last)
        return step_ds[first:n], usage_ds[first:n]

    def latest_checkpoint(self) -> tuple[int, float, bytes] | None:
        """(step, epoch, state bytes) of the newest readable checkpoint, or None if none was written.

        The bytes are always a format-2 state (`tsstudio.train.deserialize` reads them); an
        unreadable slot falls back to the other one, and RunFileError is raised when both are.
        """
        found = _read_checkpoint(self._f, self.path)
        return None if found is None else found[:3]

    def latest_state(self) -> tuple[int, float, dict[str, Any]] | None:
        """(step, epoch, decoded state) of the newest readable checkpoint, or None."""
        found = _read_checkpoint(self._f, self.path)
        return None if found is None else (found[0], found[1], _as_state(self.path, found[3]))

    def best_weights(self) -> tuple[int, float, bytes] | None:
        """(step, metric value, state bytes) of the best weights so far, or None; RunFileError if unreadable."""
        found = self._best()
        return None if found is None else found[:3]

    def best_state(self) -> tuple[int, float, dict[str, Any]] | None:
        """(step, metric value, decoded state) of the best weights so far, or None."""
        found = self._best()
        return None if found is None else (found[0], found[1], _as_state(self.path, found[3]))

    def _best(self) -> tuple[int, float, bytes, Any] | None:
        best = _read_best(self._f)
        if best is None:
            return None
        data, state = _decode_state(self.path, best[2], self.schema_version)
        return best[0], best[1], data, state

    @property
    def best_metric(self) -> str | None:
        best = _read_best(self._f)
        return None if best is None else best[3]

    def evaluation(self) -> dict[str, Any]:
        """Results stored by `write_evaluation` (scalars, `evaluated` time, arrays); {} if none."""
        g = self._f.get("evaluation")
        if not isinstance(g, h5py.Group):
            return {}
        out: dict[str, Any] = {key: _py(value) for key, value in g.attrs.items()}
        for key, ds in g.items():
            if isinstance(ds, h5py.Dataset):
                out[key] = ds[()]
        return out

    def evaluation_scalars(self) -> dict[str, Any]:
        """The scalar results of `evaluation()` alone (attributes only: cheap for listings and sweep status)."""
        g = self._f.get("evaluation")
        return {key: _py(value) for key, value in g.attrs.items()} if isinstance(g, h5py.Group) else {}


def read_config(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The configuration a run was trained with."""
    with RunFile.open(path) as rf:
        return rf.config


def _copy_file(src: h5py.File, dst_path: Path) -> None:
    """Copy every object and root attribute of `src` into a new non-SWMR file."""
    with h5py.File(dst_path, "w", libver="latest") as dst:
        for key, value in src.attrs.items():
            dst.attrs[key] = value
        for key in src:
            src.copy(src[key], dst, name=key)


def update_run_file(path: str | os.PathLike[str], change: Callable[[h5py.File], None]) -> None:
    """Apply `change` to a closed run file atomically: a copy beside it is changed, then renamed over it.

    A failure at any point, a full disk included, leaves the original untouched (RunFileError,
    one line). The copy is a fresh non-SWMR file, which also clears the flag a killed writer left;
    such a run is then stored as `interrupted`. A run still being written is refused.
    """
    p = Path(path)
    with RunFile.open(p) as rf:
        # Also guards this process: HDF5 would share a file it already has open for writing.
        if rf.status == "running":
            raise RunFileError(f"{p}: the run is still being written; wait until it ends")
        source, stored = rf.path, rf.stored_status  # source: the .resume-tmp copy after a killed resume
    tmp = p.with_name(p.name + ".update-tmp")
    try:
        src, _ = _open_h5_read(source, live=False)
        try:
            _copy_file(src, tmp)
        finally:
            src.close()
        with h5py.File(tmp, "r+") as f:
            if stored == "running":
                # The writer was killed: record that, so the status no longer depends on its pid.
                f.attrs["status"] = "interrupted"
                f["status_live"][0] = b"interrupted"
            change(f)
        _fsync(tmp)
        os.replace(tmp, p)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        if is_out_of_space(exc):
            raise _no_space(p) from exc
        if isinstance(exc, (OSError, KeyError, RuntimeError)) and not isinstance(exc, RunFileError):
            raise RunFileError(f"{p}: cannot update the run file ({_one_line(exc)}); the run is unchanged") from exc
        raise
    if source != p:
        source.unlink(missing_ok=True)  # the interrupted resume is recovered: `path` holds the run again
    _fsync_dir(p.parent)


def write_evaluation(
    path: str | os.PathLike[str],
    results: dict[str, float | int | str],
    arrays: dict[str, np.ndarray] | None = None,
) -> None:
    """Store evaluation results in the run file's `evaluation` group, replacing earlier ones.

    The run must not be training any more. Scalars become attributes, arrays datasets. The file
    is replaced atomically (`update_run_file`): on a full disk the run stays as it was.
    """

    def change(f: h5py.File) -> None:
        _sync_final_status(f)
        if "evaluation" in f:
            del f["evaluation"]
        g = f.create_group("evaluation")
        for key, value in results.items():
            g.attrs[key] = _attr_value(value.item() if isinstance(value, np.generic) else value)
        g.attrs["evaluated"] = _now_iso()
        for key, arr in (arrays or {}).items():
            g.create_dataset(key, data=np.asarray(arr))

    update_run_file(path, change)


def _sync_final_status(f: h5py.File) -> None:
    """Copy a final status from `status_live` into the attribute when the writer could not."""
    if _py(f.attrs.get("status")) != "running" or "status_live" not in f:
        return
    live = str(_py(f["status_live"][0]))
    if live in FINAL_STATUSES:
        f.attrs["status"] = live
        if live == "failed" and "error_live" in f and not f.attrs.get("error"):
            f.attrs["error"] = str(_py(f["error_live"][0]))
