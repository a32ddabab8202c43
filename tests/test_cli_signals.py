"""Ctrl-C as a cooperative stop lasts only while a command trains: the caller's handlers come back."""

from __future__ import annotations

import signal

from support import TINY_CLI

from tsstudio.cli.main import main
from tsstudio.cli.output import install_stop_handler
from tsstudio.train import TrainingControl


def _own_handler(signum, frame):  # noqa: ANN001, ARG001
    raise AssertionError("the test's handler is only installed, never called")


def test_stop_handler_turns_sigint_into_a_stop_and_restore_puts_the_old_handlers_back():
    before = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        signal.signal(signal.SIGINT, _own_handler)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        control = TrainingControl()
        restore = install_stop_handler(control)
        installed = signal.getsignal(signal.SIGINT)
        assert installed is not _own_handler and signal.getsignal(signal.SIGTERM) is installed
        installed(signal.SIGINT, None)
        assert control.stop_requested
        restore()
        assert signal.getsignal(signal.SIGINT) is _own_handler
        assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    finally:
        for sig, handler in before.items():
            signal.signal(sig, handler)


def test_train_command_leaves_the_process_signal_handlers_as_it_found_them(tmp_path, capsys):
    before = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        signal.signal(signal.SIGINT, _own_handler)
        signal.signal(signal.SIGTERM, _own_handler)
        code = main(["train", "--dataset", "CBF", "--max-steps", "1", "--out", str(tmp_path / "run.h5"), "--quiet", *TINY_CLI])
        assert code == 0, capsys.readouterr().err
        assert signal.getsignal(signal.SIGINT) is _own_handler
        assert signal.getsignal(signal.SIGTERM) is _own_handler
    finally:
        for sig, handler in before.items():
            signal.signal(sig, handler)
