"""Package data of tsstudio: presets, icons and styles (installed as `tsstudio.resources`)."""
