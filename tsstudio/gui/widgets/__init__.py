"""Reusable plot widgets shared by the views (token grid, series small multiples, spectrogram)."""
