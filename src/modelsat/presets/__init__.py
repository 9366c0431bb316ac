"""Bundled configuration presets (one YAML file each)."""
