"""Which tokenizer runs a prior may train on: a finished tokenizer run, and nothing else."""

from __future__ import annotations

from pathlib import Path

import pytest

from tsstudio.config import apply_overrides, load_preset
from tsstudio.errors import TsstudioError
from tsstudio.store.tokenizer_runs import finished_tokenizer, finished_tokenizers
from tsstudio.sweep.runner import train_run
from tsstudio.train import TrainingControl

TINY = ["data.dataset=CBF", "trainer.batch_size=32", "trainer.device=cpu", "trainer.precision=fp32",
        "encoder.dim=16", "decoder.dim=16", "encoder.n_resnet_blocks=1", "decoder.n_resnet_blocks=1",
        "quantizer.codebook_size=16", "probes.at_start=false", "trainer.max_steps=3"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:  # noqa: ANN001
    folder = tmp_path_factory.mktemp("toks")
    config = apply_overrides(load_preset("regular"), TINY)
    done = folder / "done.h5"
    assert train_run(config, done).status == "finished"
    stopped = folder / "stopped.h5"
    control = TrainingControl()
    control.request_stop()  # stops before its first step, with a checkpoint
    assert train_run(config, stopped, control=control).status == "stopped"
    (folder / "junk.h5").write_bytes(b"not hdf5")
    return {"done": done, "stopped": stopped, "junk": folder / "junk.h5", "folder": folder}


def test_a_finished_tokenizer_is_accepted_with_its_config(runs) -> None:  # noqa: ANN001
    run = finished_tokenizer(runs["done"])
    assert run.dataset == "CBF" and run.step == 3 and run.preset == "regular"
    assert run.config["quantizer"]["codebook_size"] == 16
    assert (run.length, run.n_classes, run.codebook_size, run.token_grid) == (128, 3, 16, (5, 8))
    assert "done" in run.label and "CBF" in run.label


@pytest.mark.parametrize(
    ("which", "expected"),
    [("missing", "tokenizer run file not found"), ("junk", "a prior trains on a finished tokenizer run"),
     ("stopped", "the tokenizer run is stopped, not finished")],
)
def test_other_files_are_refused_with_one_line(runs, which: str, expected: str) -> None:  # noqa: ANN001
    path = runs["folder"] / "missing.h5" if which == "missing" else runs[which]
    with pytest.raises(TsstudioError) as info:
        finished_tokenizer(path)
    message = str(info.value)
    assert expected in message and path.name in message and "\n" not in message


def test_the_workspace_lists_only_finished_tokenizers(runs) -> None:  # noqa: ANN001
    assert [r.path.name for r in finished_tokenizers(runs["folder"])] == ["done.h5"]
