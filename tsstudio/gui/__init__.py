"""The desktop app: Qt windows, views, workers and themes (the only package that imports Qt)."""
