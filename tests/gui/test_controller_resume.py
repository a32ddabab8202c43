"""The app's Resume follows the core resume policy, so it refuses what `tsstudio train --resume` refuses."""

from __future__ import annotations

from pathlib import Path

import pytest

from tsstudio.errors import RunFileError
from tsstudio.gui.controller import AppController
from tsstudio.sweep.resume import plan_resume


def test_resume_of_a_finished_run_is_refused_like_the_cli(workspace: Path, finished_run: Path) -> None:
    with pytest.raises(RunFileError) as core:
        plan_resume(finished_run)
    controller = AppController(workspace)
    with pytest.raises(RunFileError) as app:
        controller.resume_run(finished_run)
    assert str(app.value) == str(core.value)
    assert str(core.value) == f"{finished_run}: the run is finished at step 8; pass a larger --epochs or --max-steps to extend it"
    assert controller.jobs == []
