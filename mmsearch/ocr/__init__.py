"""Reading the text in photos: the OCR reader (`reader.py`), its geometry (`geometry.py`) and
the folded words photo text and queries are compared in (`words.py`)."""
