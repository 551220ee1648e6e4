"""SQLAlchemy 2.x typed models of the catalog.

Paths are stored as the raw bytes the file system gave us (`os.fsencode`), so a file name
that is not valid UTF-8 round-trips exactly instead of being lost or mangled.
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

from sqlalchemy import (
    BigInteger,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class FsPath(TypeDecorator[Path]):
    """A file system path stored as its exact bytes; under a named library root, relative
    to it (`mmsearch.catalog.roots`: the catalog's `RootMap`, kept on its engine's dialect,
    translates both ways). A bound value may be bytes (a prefix bound of a range)."""

    impl = LargeBinary
    cache_ok = True

    def process_bind_param(self, value: Path | bytes | None, dialect: Dialect) -> bytes | None:
        if value is None:
            return None
        raw = value if isinstance(value, bytes) else os.fsencode(value)
        roots = getattr(dialect, ROOTS_ATTRIBUTE, None)
        return raw if roots is None else roots.store(raw)

    def process_result_value(self, value: bytes | None, dialect: Dialect) -> Path | None:
        if value is None:
            return None
        roots = getattr(dialect, ROOTS_ATTRIBUTE, None)
        return Path(os.fsdecode(value if roots is None else roots.load(value)))


ROOTS_ATTRIBUTE = "mmsearch_roots"
"""The attribute of a catalog engine's dialect that holds its `RootMap` (`Catalog.use_roots`)."""


class Base(DeclarativeBase):
    pass


class Folder(Base):
    """A folder the user asked us to index (recursively)."""

    __tablename__ = "folders"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    path: Mapped[Path] = mapped_column(FsPath, unique=True)
    added_at: Mapped[datetime] = mapped_column(DateTime)

    photos: Mapped[list[Photo]] = relationship(
        back_populates="folder", cascade="all, delete-orphan", passive_deletes=True
    )


class Photo(Base):
    """One photo file on disk, with what we read from it."""

    __tablename__ = "photos"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    folder_id: Mapped[int] = mapped_column(ForeignKey("folders.id", ondelete="CASCADE"), index=True)
    path: Mapped[Path] = mapped_column(FsPath, unique=True)
    size: Mapped[int] = mapped_column(BigInteger)
    mtime_ns: Mapped[int] = mapped_column(BigInteger)
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    taken_at: Mapped[datetime | None] = mapped_column(DateTime, index=True)
    camera: Mapped[str | None] = mapped_column(Text, index=True)
    indexed_at: Mapped[datetime] = mapped_column(DateTime)
    # Read by the details pass after indexing (migration 0005): its version (None: not yet),
    # where `taken_at` came from ("exif", "name", "file"), the GPS position, the place.
    details: Mapped[int | None] = mapped_column(Integer, index=True)
    taken_from: Mapped[str | None] = mapped_column(String(8))
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    place_id: Mapped[int | None] = mapped_column(Integer, index=True)  # places.id

    folder: Mapped[Folder] = relationship(back_populates="photos")
    embeddings: Mapped[list[Embedding]] = relationship(
        back_populates="photo", cascade="all, delete-orphan", passive_deletes=True
    )
    regions: Mapped[list[Regions]] = relationship(
        back_populates="photo", cascade="all, delete-orphan", passive_deletes=True
    )


class Embedding(Base):
    """A photo's unit vector under one model; the vector index is derived from these rows."""

    __tablename__ = "embeddings"

    photo_id: Mapped[int] = mapped_column(
        ForeignKey("photos.id", ondelete="CASCADE"), primary_key=True
    )
    model_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    vector: Mapped[bytes] = mapped_column(LargeBinary)  # float16, little endian, unit length
    # This model's write number (migration 0006; NULL: written before it): the index records
    # the highest it holds and is repaired from the rows written since.
    seq: Mapped[int | None] = mapped_column(Integer)

    photo: Mapped[Photo] = relationship(back_populates="embeddings")

    __table_args__ = (
        Index("ix_embeddings_model", "model_id"),
        Index("ix_embeddings_model_seq", "model_id", "seq"),
    )


class EmbeddingWrites(Base):
    """The last write number given to a vector of each model (migration 0006): a counter,
    never lowered, so a number is never given twice even when the newest vectors are
    deleted (the highest `embeddings.seq` left would go back, and be given again)."""

    __tablename__ = "embedding_writes"

    model_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger)


class Regions(Base):
    """A photo's fusion regions under one model (float16, little endian, shape given by the
    model's spec): what its fusion head needs to re-rank the photo, kept beside the vector."""

    __tablename__ = "regions"

    photo_id: Mapped[int] = mapped_column(
        ForeignKey("photos.id", ondelete="CASCADE"), primary_key=True
    )
    model_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)

    photo: Mapped[Photo] = relationship(back_populates="regions")


class PhotoHash(Base):
    """A photo's 64-bit difference hash (stored signed), valid while its content hash is
    the one it was made from: the duplicate finder's pixel check, made once per file."""

    __tablename__ = "photo_hashes"

    photo_id: Mapped[int] = mapped_column(
        ForeignKey("photos.id", ondelete="CASCADE"), primary_key=True
    )
    content_hash: Mapped[str] = mapped_column(String(64))
    dhash: Mapped[int] = mapped_column(BigInteger)


class PhotoText(Base):
    """The text the OCR model (`reader`, its version) read in a photo, valid while its
    content hash is the one it was read from: `lines` is JSON (text, confidence, corners),
    `search` the folded form the FTS5 table `photo_text_fts` indexes (migration 0004).
    Photos without text have a row with no lines: read, nothing found."""

    __tablename__ = "photo_text"

    photo_id: Mapped[int] = mapped_column(
        ForeignKey("photos.id", ondelete="CASCADE"), primary_key=True
    )
    content_hash: Mapped[str] = mapped_column(String(64))
    reader: Mapped[str] = mapped_column(String(64))
    search: Mapped[str] = mapped_column(Text)
    lines: Mapped[str] = mapped_column(Text)


class Place(Base):
    """A place photos were named after by one geocoder version (`Geocoder.version`):
    `entry` is its row in that version's database; `city` is None for a photo too far from
    any town to name one (then the region and country only)."""

    __tablename__ = "places"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    geocoder: Mapped[str] = mapped_column(String(64))
    entry: Mapped[int] = mapped_column(Integer)
    city: Mapped[str | None] = mapped_column(Text)
    region: Mapped[str | None] = mapped_column(Text)
    country: Mapped[str] = mapped_column(Text)
    country_code: Mapped[str] = mapped_column(String(8))

    __table_args__ = (Index("ix_places_geocoder_entry", "geocoder", "entry"),)


class Failure(Base):
    """A file that could not be indexed, with the reason a person can act on."""

    __tablename__ = "failures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    folder_id: Mapped[int] = mapped_column(ForeignKey("folders.id", ondelete="CASCADE"), index=True)
    path: Mapped[Path] = mapped_column(FsPath, unique=True)
    reason: Mapped[str] = mapped_column(Text)
    size: Mapped[int] = mapped_column(BigInteger, default=-1)  # -1: unknown (not stat-able)
    mtime_ns: Mapped[int] = mapped_column(BigInteger, default=-1)
    failed_at: Mapped[datetime] = mapped_column(DateTime)
