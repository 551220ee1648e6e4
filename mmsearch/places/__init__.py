"""Where photos were taken: the offline place database and reverse geocoder
(`geocoder.py`), and recognising a place named in a typed query (`query.py`)."""
