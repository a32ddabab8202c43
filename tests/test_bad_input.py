"""Bad input end to end: each case gets one clear line (or a one-line warning), never a traceback,
a silent substitution or a half-written file."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tsstudio.cli.main import main
from tsstudio.config import RunConfig, apply_overrides, from_dict, to_dict
from tsstudio.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
QUICK = ["--set", "trainer.batch_size=4", "--set", "trainer.device=cpu", "--set", "trainer.num_threads=1",
         "--set", "trainer.val_every_epochs=0", "--set", "probes.every_epochs=0", "--set", "probes.at_start=false",
         "--quiet"]


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def cli_unprivileged(*args: str) -> subprocess.CompletedProcess:
    """Run the CLI in a child process that file permissions apply to (as root, without the capabilities
    that bypass them), so unreadable and read-only folders behave as they do for a normal user."""
    cmd = [sys.executable, "-m", "tsstudio", *args]
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("running as root, and setpriv is not available to drop the permission-bypassing capabilities")
        caps = "-dac_override,-dac_read_search"
        cmd = [setpriv, f"--inh-caps={caps}", f"--bounding-set={caps}", *cmd]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)


def ucr_folder(root: Path, name: str, length: int = 32, n: int = 8, big: float | None = None) -> Path:
    """A small two-class dataset in the UCR layout (optionally with one huge value)."""
    folder = root / name
    folder.mkdir(parents=True)
    for split in ("TRAIN", "TEST"):
        rows = []
        for i in range(n):
            values = [f"{((i * 7 + t * 3) % 11) / 10 + (i % 2):.3f}" for t in range(length)]
            if big is not None and i == 0 and split == "TRAIN":
                values[-1] = repr(big)
            rows.append("\t".join([str(1 + i % 2), *values]))
        (folder / f"{name}_{split}.tsv").write_text("\n".join(rows) + "\n")
    return folder


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


# ---------------------------------------------------------------- core validate agrees with the form


@pytest.mark.parametrize("value", ["nan", ".inf", "-.inf"])
def test_validate_rejects_non_finite_floats(value):
    with pytest.raises(ConfigError, match=r"trainer\.lr: .* not a finite number"):
        apply_overrides(RunConfig(), [f"trainer.lr={value}"])
    data = to_dict(RunConfig())
    data["quantizer"]["decay"] = float("nan")
    with pytest.raises(ConfigError, match=r"quantizer\.decay: nan is not a finite number"):
        from_dict(data)


def test_validate_rejects_encoder_and_decoder_of_different_widths():
    with pytest.raises(ConfigError, match=r"decoder\.dim: 32 must equal encoder\.dim 64"):
        apply_overrides(RunConfig(), ["decoder.dim=32"])
    assert apply_overrides(RunConfig(), ["decoder.dim=32", "encoder.dim=32"]).decoder.dim == 32


# ---------------------------------------------------------------- numeric options: one place, one line


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["sample", "P.h5", "--out", "G.h5", "--steps", "-3"], "--steps: expected an integer in [1, 1000], got -3"),
        (["sample", "P.h5", "--out", "G.h5", "--steps", "0"], "--steps: expected an integer in [1, 1000], got 0"),
        (["sample", "P.h5", "--out", "G.h5", "--guidance", "nan"], "--guidance: expected a finite number in [0, 100], got nan"),
        (["sample", "P.h5", "--out", "G.h5", "--temperature", "0"], "--temperature: expected a finite number in (0, 100], got 0"),
        (["sample", "P.h5", "--out", "G.h5", "--temperature", "-1"], "--temperature: expected a finite number in (0, 100]"),
        (["sample", "P.h5", "--out", "G.h5", "--n", "0"], "--n: expected an integer ≥ 1, got 0"),
        (["eval", "P.h5", "--fcn-epochs", "-1"], "--fcn-epochs: expected an integer ≥ 1, got -1"),
        (["eval", "P.h5", "--cas-epochs", "x"], "--cas-epochs: expected an integer ≥ 1, got 'x'"),
        (["train", "--max-steps", "0"], "--max-steps: expected an integer in [1, 100000000], got 0"),
        (["train", "--epochs", "0"], "--epochs: expected an integer in [1, 1000000], got 0"),
        (["prior", "--max-steps", "0"], "--max-steps: expected an integer in [1, 100000000], got 0"),
        (["ablate", "--dataset", "CBF", "--method", "vicreg", "--study", "aug-recon-rate", "--max-steps", "1",
          "--rates", "inf", "--out-dir", "x"], "--rates: expected a finite number in [0, 1000], got inf"),
        (["reproduce", "--dataset", "CBF", "--seeds", "-1", "--out-dir", "x"], "--seeds: expected an integer in [0, "),
    ],
    ids=["steps-negative", "steps-zero", "guidance-nan", "temperature-zero", "temperature-negative", "n-zero",
         "fcn-epochs", "cas-epochs-text", "max-steps-zero", "epochs-zero", "prior-max-steps", "rates-inf", "seed"],
)
def test_numeric_options_are_checked_at_parsing(capsys, args, expected):
    with pytest.raises(SystemExit) as exc:
        main(args)
    assert exc.value.code == 2
    line = one_line(capsys.readouterr().err)
    assert line.startswith(f"tsstudio {args[0]}: error: ") and expected in line, line


# ---------------------------------------------------------------- output paths


def test_out_wording_names_folders_and_only_suggests_resume_where_it_exists(capsys, tmp_path):
    taken = tmp_path / "taken.h5"
    taken.write_text("x")
    code, _, err = run_cli(capsys, "export-tokens", "RUN.h5", "--out", str(taken))
    assert code == 1 and one_line(err).endswith(f"{taken} exists; pass --overwrite to replace it")
    code, _, err = run_cli(capsys, "sample", "P.h5", "--out", str(taken))
    assert code == 1 and "--resume" not in one_line(err)
    code, _, err = run_cli(capsys, "train", "--out", str(taken))
    assert code == 1 and f"or --resume {taken} to continue it" in one_line(err)
    code, _, err = run_cli(capsys, "train", "--out", str(tmp_path))
    assert code == 1 and one_line(err).endswith(f"--out {tmp_path}: is a folder; expected the name of a file to write in it")


def test_report_priors_into_a_missing_folder_is_refused_before_reading(capsys, tmp_path):
    code, _, err = run_cli(capsys, "report-priors", str(tmp_path / "no-such-prior.h5"), "--out", str(tmp_path / "nope" / "r.md"))
    assert code == 1 and one_line(err) == f"tsstudio report-priors: error: {tmp_path / 'nope'}: folder does not exist"


@pytest.mark.parametrize("command", ["ablate", "reproduce"])
def test_out_dir_that_is_a_file_is_refused(capsys, tmp_path, command):
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("keep me")
    extra = ["--method", "vicreg", "--study", "augmentations", "--max-steps", "1"] if command == "ablate" else []
    code, _, err = run_cli(capsys, command, "--dataset", "CBF", *extra, "--out-dir", str(not_a_folder))
    assert code == 1 and one_line(err).endswith(f"--out-dir {not_a_folder}: is a file; expected a folder")
    assert not_a_folder.read_text() == "keep me"


# ---------------------------------------------------------------- data folders


def test_unreadable_dataset_folder_is_skipped_with_a_warning(tmp_path, monkeypatch):
    monkeypatch.delenv("TSSTUDIO_DATA_DIR", raising=False)
    ucr_folder(tmp_path / "data", "Good")
    locked = ucr_folder(tmp_path / "data", "Locked")
    locked.chmod(0)
    try:
        listing = cli_unprivileged("datasets", "--data-dir", str(tmp_path / "data"))
        training = cli_unprivileged("train", "--dataset", "Good", "--data-dir", str(tmp_path / "data"), "--max-steps", "1",
                                    "--out", str(tmp_path / "good.h5"), *QUICK)
    finally:
        locked.chmod(0o755)
    warning = f"warning: {locked}: cannot read the dataset folder (Permission denied); skipped"
    assert listing.returncode == 0, listing.stderr
    assert one_line(listing.stderr) == warning
    assert [line.split()[0] for line in listing.stdout.splitlines()[1:]] == ["CBF", "Good"]
    assert training.returncode == 0, training.stderr
    assert warning in training.stderr.splitlines() and "Traceback" not in training.stderr
    assert (tmp_path / "good.h5").is_file()


def test_missing_data_folders_and_a_non_list_data_dirs_are_named(capsys, tmp_path, monkeypatch):
    from tsstudio.config.settings import settings_path

    ucr_folder(tmp_path / "data", "Good")
    missing = tmp_path / "gone"
    monkeypatch.setenv("TSSTUDIO_DATA_DIR", os.pathsep.join([str(missing), str(tmp_path / "data")]))
    code, out, err = run_cli(capsys, "datasets")
    assert code == 0 and "Good" in out
    assert one_line(err) == f"warning: {missing} (from TSSTUDIO_DATA_DIR): data folder not found; skipped"
    monkeypatch.delenv("TSSTUDIO_DATA_DIR")
    settings_path().parent.mkdir(parents=True)
    settings_path().write_text(f"data_dirs: {{folder: {tmp_path / 'data'}}}\n")
    code, out, err = run_cli(capsys, "datasets")
    assert code == 0 and "Good" not in out
    assert one_line(err).startswith(f"warning: {settings_path()}: data_dirs should be a list of folders, got {{'folder'")


# ---------------------------------------------------------------- inputs the model cannot use, checked before a run file


@pytest.fixture(scope="module")
def good_run(tmp_path_factory) -> Path:
    """A finished two-step tokenizer run on the built-in CBF."""
    path = tmp_path_factory.mktemp("good") / "good.h5"
    assert main(["train", "--dataset", "CBF", "--max-steps", "2", "--out", str(path), *QUICK]) == 0
    return path


def test_series_shorter_than_the_stft_window_are_refused_before_any_run_file(capsys, tmp_path, good_run):
    from tsstudio.store import RunFile

    ucr_folder(tmp_path / "data", "Short", length=3)
    out = tmp_path / "short.h5"
    code, _, err = run_cli(capsys, "train", "--dataset", "Short", "--data-dir", str(tmp_path / "data"), "--max-steps", "1",
                           "--out", str(out), *QUICK)
    assert code == 1 and not out.exists()
    assert one_line(err) == ("tsstudio train: error: dataset Short: series of length 3 are shorter than the STFT window "
                             "needs (stft.n_fft 8 needs a length of at least 5)")
    keep = tmp_path / "keep.h5"
    shutil.copy(good_run, keep)
    code, _, err = run_cli(capsys, "train", "--dataset", "Short", "--data-dir", str(tmp_path / "data"), "--max-steps", "1",
                           "--out", str(keep), "--overwrite", *QUICK)
    assert code == 1 and "dataset Short" in one_line(err)
    with RunFile.open(keep) as run:  # --overwrite did not replace the good run with one that fails at start
        assert run.status == "finished" and run.step == 2 and run.dataset == "CBF"


def test_values_beyond_float32_are_refused_naming_the_file(capsys, tmp_path):
    folder = ucr_folder(tmp_path / "data", "Huge", big=1e308)
    out = tmp_path / "huge.h5"
    code, _, err = run_cli(capsys, "train", "--dataset", "Huge", "--data-dir", str(tmp_path / "data"), "--max-steps", "1",
                           "--out", str(out), *QUICK)
    assert code == 1 and not out.exists()
    assert one_line(err) == (f"tsstudio train: error: {folder / 'Huge_TRAIN.tsv'}:1: value 1e+308 (sample 32) is beyond "
                             "the float32 range (±3.4e+38) the model computes in")


def test_reproduce_refuses_a_prior_preset(capsys, tmp_path):
    code, _, err = run_cli(capsys, "reproduce", "--dataset", "CBF", "--preset", "maskgit", "--epochs", "1",
                           "--out-dir", str(tmp_path / "rep"))
    assert code == 1 and "preset 'maskgit' configures a prior run, not a tokenizer run" in one_line(err)
    assert list((tmp_path / "rep").iterdir()) == []


def test_prior_on_a_stopped_tokenizer_warns(capsys, tmp_path):
    from tsstudio.config import load_preset
    from tsstudio.sweep import train_run
    from tsstudio.train import TrainingControl
    from tsstudio.train.events import StepMetrics

    control = TrainingControl()

    def stop_at_three(event) -> None:  # noqa: ANN001
        if isinstance(event, StepMetrics) and event.step == 3:
            control.request_stop()

    config = apply_overrides(load_preset("regular"), ["trainer.max_steps=50", "trainer.batch_size=8",
                                                      "trainer.device=cpu", "trainer.num_threads=1"])
    tokenizer = tmp_path / "stopped.h5"
    assert train_run(config, tokenizer, control=control, listeners=[stop_at_three]).status == "stopped"
    code, _, err = run_cli(capsys, "prior", "--tokenizer", str(tokenizer), "--max-steps", "1", "--out", str(tmp_path / "p.h5"),
                           "--set", "prior.hidden_dim=16", "--set", "prior.n_layers=1", *QUICK)
    assert code == 0, err
    assert err.splitlines()[0] == (f"warning: {tokenizer}: the tokenizer run is stopped at step 3 of 50; "
                                   "the prior trains on its latest weights as they are")


# ---------------------------------------------------------------- writing where it cannot


def test_export_tokens_to_a_read_only_folder_is_one_line(tmp_path, good_run):
    read_only = tmp_path / "ro"
    read_only.mkdir()
    read_only.chmod(0o555)
    try:
        result = cli_unprivileged("export-tokens", str(good_run), "--out", str(read_only / "tokens.h5"))
    finally:
        read_only.chmod(0o755)
    assert result.returncode == 1
    assert one_line(result.stderr) == f"tsstudio export-tokens: error: {read_only}: folder is not writable"
    assert list(read_only.iterdir()) == []


@pytest.fixture(scope="module")
def prior_run(good_run) -> Path:
    """A one-step prior on the good tokenizer run."""
    path = good_run.with_name("prior.h5")
    assert main(["prior", "--tokenizer", str(good_run), "--max-steps", "1", "--out", str(path),
                 "--set", "prior.hidden_dim=16", "--set", "prior.n_layers=1", *QUICK]) == 0
    return path


def test_sample_settings_are_validated_in_the_core_too(prior_run):
    from tsstudio.store.exports import sample_prior

    with pytest.raises(ConfigError, match=r"prior\.decoding_steps: 0 is out of range; expected \[1, 1000\]"):
        sample_prior(prior_run, 2, steps=0)
    with pytest.raises(ConfigError, match=r"prior\.sampling_temperature: 0\.0 is out of range; expected \(0, 100\]"):
        sample_prior(prior_run, 2, sampling_temperature=0.0)
    gen = sample_prior(prior_run, 2, steps=1, sampling_temperature=0.5)
    assert gen.settings["decoding_steps"] == 1 and gen.settings["sampling_temperature"] == 0.5


# ---------------------------------------------------------------- Ctrl-C


def interrupt_after(delay_s: float, *args: str) -> subprocess.CompletedProcess:
    """Start the CLI, send SIGINT after `delay_s` seconds, and collect how it ended."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen([sys.executable, "-m", "tsstudio", *args], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        time.sleep(delay_s)
        assert proc.poll() is None, proc.communicate()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def test_ctrl_c_during_start_up_exits_130_without_a_run_file(tmp_path):
    out = tmp_path / "never.h5"
    result = interrupt_after(0.8, "train", "--max-steps", "500", "--out", str(out), *QUICK)
    assert result.returncode == 130, result.stderr
    assert one_line(result.stderr).endswith(": interrupted")
    assert not out.exists()


def test_ctrl_c_during_sample_exits_130_without_an_output_file(tmp_path, prior_run):
    out = tmp_path / "gen.h5"
    result = interrupt_after(10.0, "sample", str(prior_run), "--n", "4000", "--steps", "200", "--out", str(out))
    assert result.returncode == 130, result.stderr
    assert one_line(result.stderr) == "tsstudio sample: interrupted"
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_a_run_of_another_kind_is_named_with_its_article(capsys, tmp_path, good_run):
    tokens = tmp_path / "tokens.h5"
    assert main(["export-tokens", str(good_run), "--split", "test", "--out", str(tokens)]) == 0
    capsys.readouterr()
    code, _, err = run_cli(capsys, "train", "--resume", str(tokens))
    assert code == 1 and one_line(err) == f"tsstudio train: error: {tokens}: is an export run, not a tokenizer run"
    code, _, err = run_cli(capsys, "sample", str(good_run), "--out", str(tmp_path / "g.h5"))
    assert code == 1 and one_line(err) == f"tsstudio sample: error: {good_run}: is a tokenizer run, not a prior run"


def test_ctrl_c_before_the_first_step_interrupts_and_leaves_no_run_file(tmp_path):
    import argparse

    from tsstudio.cli.commands import run_with_progress
    from tsstudio.config import load_preset
    from tsstudio.sweep import train_run
    from tsstudio.train.events import RunStarted

    config = apply_overrides(load_preset("regular"), ["trainer.max_steps=50", "trainer.batch_size=8", "trainer.device=cpu"])
    out = tmp_path / "startup.h5"

    def ctrl_c_at_start(event) -> None:  # noqa: ANN001
        if isinstance(event, RunStarted):
            os.kill(os.getpid(), signal.SIGINT)  # the run file exists now; no step has run

    def start(control, listeners):  # noqa: ANN001, ANN202
        return train_run(config, out, control=control, listeners=[ctrl_c_at_start, *listeners])

    previous = signal.signal(signal.SIGINT, signal.default_int_handler)  # Python's own: Ctrl-C raises KeyboardInterrupt
    try:
        with pytest.raises(KeyboardInterrupt):
            run_with_progress(argparse.Namespace(quiet=True), out, start)
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # the stop handler was never armed
    finally:
        signal.signal(signal.SIGINT, previous)
    assert not out.exists()
