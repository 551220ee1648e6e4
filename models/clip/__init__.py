"""Recipes for CLIP-family models: export open_clip models to the hub ONNX layout."""
