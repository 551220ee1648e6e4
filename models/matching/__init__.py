"""The founding design's matching model: torch code to train it (`train.py`, on cached
features of the frozen parts, `data.py` and `frozen.py`), the model itself (`model.py`) and
its export to the ONNX model folder the app runs (`export.py`). Never imported by the app's
run time: `mmsearch train` and `mmsearch export` import it inside the command."""
