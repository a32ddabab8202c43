"""The exploration screenshot script refuses missing inputs in one line, before it opens a window."""

from __future__ import annotations

from tsstudio.gui.explore_screenshots import main


def test_a_missing_run_is_named_in_one_line_and_nothing_is_written(tmp_path, capsys):
    (tmp_path / "a.h5").write_bytes(b"")
    out = tmp_path / "shots"
    code = main([str(tmp_path), str(tmp_path / "a.h5"), str(tmp_path / "b.h5"), "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and err == f"B {tmp_path / 'b.h5'}: not found\n"
    assert not out.exists()
