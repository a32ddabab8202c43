"""Which packages a wheel holds; the rest of the project's metadata is in pyproject.toml.

Every package under tsstudio/ is found rather than listed, so a new subpackage cannot be left
out of a regular install; resources/ (presets, reference figures, icons, styles) installs as
`tsstudio.resources`.
"""

from setuptools import find_packages, setup

setup(
    packages=[*find_packages(include=["tsstudio", "tsstudio.*"]), "tsstudio.resources"],
    package_dir={"tsstudio": "tsstudio", "tsstudio.resources": "resources"},
)
