"""The Sampler's small multiples leave room above the first row for the class legend."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF

from tsstudio.gui.widgets.series_grid import SeriesGrid


def test_the_class_legend_covers_no_series(qtbot) -> None:  # noqa: ANN001
    grid = SeriesGrid()
    qtbot.addWidget(grid)
    grid.resize(470, 340)  # the Sampler's grid at 1366 x 768
    grid.show()
    qtbot.waitExposed(grid)
    rng = np.random.default_rng(0)
    grid.set_series(rng.normal(size=(12, 150)), np.zeros(12, np.int64), ["1", "2"])
    qtbot.wait(50)
    legend = grid.legend.sceneBoundingRect()
    top_of_first_row = grid.plot_item.getViewBox().mapViewToScene(QPointF(0.0, 0.0)).y()
    assert legend.height() > 0 and legend.bottom() <= top_of_first_row


def test_the_pca_panel_has_its_legend_in_the_caption_not_over_the_points(qtbot) -> None:  # noqa: ANN001
    from PySide6.QtWidgets import QLabel

    from tsstudio.gui.views.sampler_view import PCA_CAPTION, SamplerView

    view = SamplerView()
    qtbot.addWidget(view)
    try:
        assert view.pca_plot.getPlotItem().legend is None
        assert any(label.text() == PCA_CAPTION for label in view.findChildren(QLabel))
        assert "real test" in PCA_CAPTION and "generated" in PCA_CAPTION
    finally:
        view.shutdown()
