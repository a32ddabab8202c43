"""AugmentationPreview: views follow the parameters, the seed and the method order."""

from __future__ import annotations

import os

os.environ["QT_QPA_PLATFORM"] = "offscreen"
os.environ.setdefault("QT_API", "pyside6")


import numpy as np  # noqa: E402
import pytest  # noqa: E402
from stubs import StubController  # noqa: E402

from tsstudio.config.schema import AUGMENTATIONS, AugmentationConfig  # noqa: E402
from tsstudio.data.augmentations import preview_views  # noqa: E402
from tsstudio.gui.augment_view import AugmentationPreview, OrderedCheckList, method_of_field  # noqa: E402
from tsstudio.gui.plots import stft_magnitude  # noqa: E402


@pytest.fixture
def preview(qtbot) -> AugmentationPreview:
    view = AugmentationPreview(StubController())
    qtbot.addWidget(view)
    qtbot.waitUntil(lambda: not view.is_busy() and view.views() is not None, timeout=20000)
    return view


def deviation(view: AugmentationPreview) -> float:
    return float(np.abs(view.views() - view.original()[None]).mean())


def test_every_parameter_field_belongs_to_a_method() -> None:
    import dataclasses

    names = [f.name for f in dataclasses.fields(AugmentationConfig) if f.name != "methods"]
    assert all(method_of_field(n) in AUGMENTATIONS for n in names)
    assert method_of_field("slice_segments") == "slice_and_shuffle"
    assert method_of_field("noise_window_std") == "noise_window"


def test_views_follow_noise_std_and_seed(qtbot, preview: AugmentationPreview) -> None:
    d = preview.current_dataset()
    np.testing.assert_array_equal(preview.original(), d.x_test[0])
    np.testing.assert_array_equal(preview.original_curve.yData, d.x_test[0])
    preview.set_config(AugmentationConfig(methods=("gaussian_noise",), gaussian_noise_std=0.05))
    preview.refresh()
    small = deviation(preview)
    assert preview.config().methods == ("gaussian_noise",)
    np.testing.assert_allclose(preview.views(), preview_views(d.x_test[0], preview.config(), 4, 0))
    assert preview.view_curves.count() == 4
    np.testing.assert_array_equal(preview.view_curves.data(2), preview.views()[2])

    # the user drags the slider: the preview follows after the debounce
    before = preview.views()
    preview.param_editor("gaussian_noise_std").setValue(1.0)
    qtbot.waitUntil(lambda: not np.array_equal(preview.views(), before), timeout=3000)
    assert preview.config().gaussian_noise_std == pytest.approx(1.0)
    assert deviation(preview) > 5 * small

    before = preview.views()
    preview.seed_spin.setValue(7)
    qtbot.waitUntil(lambda: not np.array_equal(preview.views(), before), timeout=3000)
    np.testing.assert_allclose(preview.views(), preview_views(d.x_test[0], preview.config(), 4, 7))

    preview.views_spin.setValue(9)
    qtbot.waitUntil(lambda: preview.views().shape[0] == 9, timeout=3000)
    assert preview.view_curves.count() == 9

    # spectrograms: the original and the first view, on shared levels
    np.testing.assert_allclose(preview.spectrogram_original.image_data(), stft_magnitude(preview.original()), rtol=1e-6)
    np.testing.assert_allclose(preview.spectrogram_view.image_data(), stft_magnitude(preview.views()[0]), rtol=1e-6)
    assert preview.spectrogram_original.levels() == preview.spectrogram_view.levels()


def test_only_parameters_of_checked_methods_are_shown(qtbot, preview: AugmentationPreview) -> None:
    preview.set_config(AugmentationConfig(methods=("slice_and_shuffle", "flip")))
    form = preview.params_form
    names = ("slice_segments", "gaussian_noise_std", "window_warp_ratio")
    visible = {name for name in names if form.isRowVisible(preview.param_editor(name))}
    assert visible == {"slice_segments"}


def test_no_method_gives_the_original_and_order_matters(qtbot, preview: AugmentationPreview) -> None:
    preview.set_config(AugmentationConfig(methods=()))
    preview.refresh()
    assert preview.views().shape == (0, preview.original().shape[0])  # nothing unchanged passes for augmented
    assert preview.view_curves.count() == 0 and preview.spectrogram_view.image_data() is None
    assert "No augmentation" in preview.message.text()

    preview.set_config(AugmentationConfig(methods=("gaussian_noise", "amplitude_resize")))
    preview.refresh()
    first = preview.views()
    lst = preview.method_list
    lst.list.setCurrentRow(1)
    with qtbot.waitSignal(preview.configChanged):
        lst.up.click()
    assert preview.config().methods == ("amplitude_resize", "gaussian_noise")
    qtbot.waitUntil(lambda: not np.array_equal(preview.views(), first), timeout=3000)


def test_ordered_check_list(qtbot) -> None:
    lst = OrderedCheckList(("a", "b", "c"))
    qtbot.addWidget(lst)
    lst.set_checked(("c", "a"))
    assert lst.checked() == ("c", "a")
    lst.list.setCurrentRow(0)
    with qtbot.waitSignal(lst.changed):
        lst.down.click()
    assert lst.checked() == ("a", "c")


def test_each_view_has_its_spectrogram_and_differs_from_the_original(qtbot, preview: AugmentationPreview) -> None:
    # at seed 0 the first slice-and-shuffle draw of CBF test series 0 keeps the original order
    config = AugmentationConfig(methods=("slice_and_shuffle",))
    first_draw = preview_views(preview.original(), config, 4, 0)
    assert np.array_equal(first_draw[0], preview.original())
    preview.set_config(config)
    preview.seed_spin.setValue(0)
    preview.refresh()
    views, original = preview.views(), preview.original()
    assert views.shape[0] == 4 and preview.view_curves.count() == 4
    assert all(np.abs(view - original).max() > 0 for view in views)
    assert "unchanged" in preview.message.text()
    for i in range(4):
        preview.select_view(i)
        assert preview.selected_view() == i
        np.testing.assert_allclose(preview.spectrogram_view.image_data(), stft_magnitude(views[i]), rtol=1e-6)
        assert preview.spectrogram_view.plot_item.titleLabel.text == f"|STFT| of view {i + 1}"
        assert preview.view_curves.items[i].opts["pen"].width() == 2  # the chosen view's curve stands out
    assert preview.spectrogram_original.levels() == preview.spectrogram_view.levels()
