"""The bundled offline model: EfficientNet-Lite + all-MiniLM-L6-v2 joined by ConSE."""
