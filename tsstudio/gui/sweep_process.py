"""A sweep launched from the app: `python -m tsstudio sweep SPEC --workspace W ...` as a child process.

The sweep runs in its own process (and its cells in the executor's), so the app only watches: its
output arrives line by line through `line`, and the run files it writes are polled separately.
`cancel()` sends SIGINT, which the CLI answers by checkpointing the running cells and exiting
with status 130; `shutdown()` does the same and, if the sweep does not end in time, terminates and
finally kills it, so closing the app never leaves a sweep behind.
"""

from __future__ import annotations

import os
import signal
import sys
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, QProcess, QProcessEnvironment, Signal

INTERRUPTED_EXIT = 130  # what `tsstudio sweep` exits with after Ctrl-C / SIGINT / SIGTERM
MAX_PARTIAL_LINE = 64 * 1024


@dataclass(frozen=True)
class LaunchOptions:
    """Where and how a sweep runs: the executor, its worker count (local) or cluster address (ray)."""

    executor: str = "local"
    workers: int | None = None
    address: str = ""

    def arguments(self) -> list[str]:
        """The `tsstudio sweep` options these choices stand for."""
        args = ["--executor", self.executor]
        if self.executor == "local" and self.workers:
            args += ["--workers", str(int(self.workers))]
        if self.executor == "ray" and self.address.strip():
            args += ["--address", self.address.strip()]
        return args


def sweep_command(spec_path: str | os.PathLike[str], workspace: str | os.PathLike[str],
                  options: LaunchOptions) -> list[str]:
    """The command line the app starts: this interpreter, `-m tsstudio sweep`, the spec and options."""
    return [sys.executable, "-m", "tsstudio", "sweep", str(spec_path), "--workspace", str(workspace),
            *options.arguments()]


class SweepProcess(QObject):
    """One `tsstudio sweep` child process and its output; the UI thread's only handle on it."""

    line = Signal(str)  # one line of the sweep's stdout/stderr, without the newline
    started = Signal()
    finished = Signal(int, str)  # exit code, outcome: finished / failed / cancelled / crashed

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._process: QProcess | None = None
        self._buffer = b""
        self._cancelled = False
        self.command: list[str] = []
        self.exit_code: int | None = None
        self.outcome = ""

    @property
    def is_running(self) -> bool:
        """True from `start` until the process has exited."""
        return self._process is not None and self._process.state() != QProcess.ProcessState.NotRunning

    def pid(self) -> int:
        """The child's process id (0 when none runs)."""
        return int(self._process.processId()) if self._process is not None else 0

    def start(self, spec_path: str | os.PathLike[str], workspace: str | os.PathLike[str],
              options: LaunchOptions) -> None:
        """Start the sweep; raises RuntimeError if one is already running from this handle."""
        if self.is_running:
            raise RuntimeError("a sweep is already running")
        self.command = sweep_command(spec_path, workspace, options)
        self.exit_code, self.outcome, self._cancelled, self._buffer = None, "", False, b""
        process = QProcess(self)
        env = QProcessEnvironment.systemEnvironment()
        env.insert("PYTHONUNBUFFERED", "1")  # lines as they are printed, not when a buffer fills
        process.setProcessEnvironment(env)
        process.setWorkingDirectory(str(Path(spec_path).resolve().parent))
        process.setProcessChannelMode(QProcess.ProcessChannelMode.MergedChannels)
        process.readyReadStandardOutput.connect(self._read)
        process.finished.connect(self._on_finished)
        process.errorOccurred.connect(self._on_error)
        self._process = process
        process.start(self.command[0], self.command[1:])
        self.started.emit()

    def _read(self) -> None:
        if self._process is None:
            return
        self._buffer += bytes(self._process.readAllStandardOutput().data())
        *lines, self._buffer = self._buffer.replace(b"\r", b"\n").split(b"\n")
        if len(self._buffer) > MAX_PARTIAL_LINE:  # a progress bar without newlines: show it anyway
            lines.append(self._buffer)
            self._buffer = b""
        for raw in lines:
            text = raw.decode("utf-8", errors="replace").rstrip()
            if text:
                self.line.emit(text)

    def _on_error(self, error: QProcess.ProcessError) -> None:
        if error == QProcess.ProcessError.FailedToStart:
            self.line.emit(f"could not start {self.command[0]}: {self._process.errorString() if self._process else ''}")
            self._finish(-1, "failed")

    def _on_finished(self, code: int, status: QProcess.ExitStatus) -> None:
        self._read()
        if self._buffer:
            self.line.emit(self._buffer.decode("utf-8", errors="replace").rstrip())
            self._buffer = b""
        if status == QProcess.ExitStatus.CrashExit:
            outcome = "cancelled" if self._cancelled else "crashed"
        elif code == 0:
            outcome = "finished"
        elif code == INTERRUPTED_EXIT or self._cancelled:
            outcome = "cancelled"
        else:
            outcome = "failed"
        self._finish(int(code), outcome)

    def _finish(self, code: int, outcome: str) -> None:
        if self.exit_code is not None:
            return
        self.exit_code, self.outcome = code, outcome
        self.finished.emit(code, outcome)

    def cancel(self) -> bool:
        """Ask the sweep to stop: SIGINT, as Ctrl-C in a terminal (running cells checkpoint first)."""
        if not self.is_running:
            return False
        self._cancelled = True
        pid = self.pid()
        if pid and hasattr(signal, "SIGINT") and sys.platform != "win32":
            os.kill(pid, signal.SIGINT)
        else:  # no signals to send: terminate, which the CLI handles like SIGINT where it can
            self._process.terminate()  # type: ignore[union-attr]
        return True

    def wait(self, timeout_ms: int) -> bool:
        """Block until the process has exited (True) or `timeout_ms` passed (False)."""
        if self._process is None or not self.is_running:
            return True
        return bool(self._process.waitForFinished(timeout_ms))

    def shutdown(self, timeout_ms: int = 60000) -> bool:
        """Cancel and wait; then SIGTERM, then SIGKILL. True if it stopped before the kill."""
        if not self.is_running:
            return True
        self.cancel()
        if self.wait(timeout_ms):
            return True
        self._process.terminate()  # type: ignore[union-attr]
        if self.wait(5000):
            return True
        self._process.kill()  # type: ignore[union-attr]
        self.wait(5000)
        return False
