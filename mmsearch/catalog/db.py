"""Opening the catalog (SQLite in WAL mode, migrated by Alembic) and every query on it."""

from __future__ import annotations

import json
import logging
import os
import shutil
import sqlite3
import threading
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

import numpy as np
from sqlalchemy import (
    Engine,
    LargeBinary,
    Select,
    and_,
    bindparam,
    create_engine,
    delete,
    event,
    func,
    literal,
    literal_column,
    or_,
    select,
    type_coerce,
    update,
)
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.exc import DatabaseError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import QueuePool

from mmsearch.catalog.backup import BACKUP_DIR, check_connection, list_backups
from mmsearch.catalog.errors import CATALOG_FILE as CATALOG_FILE
from mmsearch.catalog.errors import CatalogDamaged as CatalogDamaged
from mmsearch.catalog.errors import CatalogError as CatalogError
from mmsearch.catalog.errors import CatalogMissing as CatalogMissing
from mmsearch.catalog.errors import CatalogReadOnly as CatalogReadOnly
from mmsearch.catalog.errors import CatalogWriteFailed
from mmsearch.catalog.lock import writer_lock
from mmsearch.catalog.models import (
    ROOTS_ATTRIBUTE,
    Base,
    Embedding,
    EmbeddingWrites,
    Failure,
    Folder,
    Photo,
    PhotoHash,
    PhotoText,
    Place,
    Regions,
)
from mmsearch.catalog.roots import MARK, RootMap
from mmsearch.files import write_json
from mmsearch.media.errors import can_heal
from mmsearch.media.scan import RAW_EXTENSIONS
from mmsearch.places.geocoder import Place as PlaceName
from mmsearch.places.geocoder import place_label

_Query = TypeVar("_Query", bound=Select[*tuple[Any, ...]])
log = logging.getLogger(__name__)

VERIFIED_FILE = "catalog-verified.json"
"""`<data dir>/catalog-verified.json`: the size and time of the catalog (and its WAL) when it
was last found sound, so that `Catalog.open` runs `PRAGMA quick_check` only when the file
changed since. Measured on a catalog of 100,000 photos (665 MB with their vectors and fusion
regions): the pragma alone takes 0.4 s with the file in the page cache and 9.4 s from a cold
cache on this test VM's disk (Catalog.open with the check: 0.9-1.2 s warm on a busy 2-core
machine; without it: 3-17 ms). Far too slow for every search, cheap enough once after a
change. Damage that doesn't change the file's size or time (bit rot) is caught by the query
that meets it (the engine's handle_error turns it into CatalogDamaged), and by the check
before every backup."""


class BadVectorError(CatalogError):
    """Vectors that are not finite unit vectors were about to be stored (a damaged model)."""


#: A stored vector is good when it is finite and its length is within this of 1.
UNIT_TOLERANCE = 1e-3


def bad_rows(vectors: np.ndarray) -> np.ndarray:
    """Indices of the rows of `vectors` that are not finite unit vectors."""
    matrix = np.asarray(vectors, dtype=np.float32)
    if matrix.ndim == 1:
        matrix = matrix.reshape(1, -1)
    finite = np.isfinite(matrix).all(axis=1)
    with np.errstate(all="ignore"):
        norms = np.linalg.norm(np.where(np.isfinite(matrix), matrix, 0.0), axis=1)
    good = finite & (np.abs(norms - 1.0) < UNIT_TOLERANCE)
    return np.flatnonzero(~good)


@dataclass(frozen=True)
class FolderInfo:
    id: int
    path: Path
    photos: int
    failures: int


@dataclass(frozen=True)
class KnownPhoto:
    """What the indexer needs to know about a catalogued photo to decide what to do."""

    id: int
    path: Path
    size: int
    mtime_ns: int
    content_hash: str
    has_embedding: bool


@dataclass(frozen=True)
class PhotoRecord:
    """A photo read from disk, ready to be written with its embedding."""

    path: Path
    size: int
    mtime_ns: int
    content_hash: str
    width: int
    height: int
    taken_at: datetime | None
    camera: str | None
    vector: np.ndarray
    regions: np.ndarray | None = None  # the model's fusion regions, if it has a fusion head


@dataclass(frozen=True)
class PhotoInfo:
    id: int
    path: Path
    size: int
    width: int
    height: int
    taken_at: datetime | None
    camera: str | None
    taken_from: str | None = None  # "exif", "name", "file" (mmsearch.media.dates), None: unread
    place: str | None = None  # "Lisbon, Portugal"
    gps: tuple[float, float] | None = None  # (latitude, longitude)


FILE_KINDS: dict[str, tuple[str, ...]] = {
    "jpeg": (".jpg", ".jpeg", ".jpe", ".jfif"),
    "png": (".png",),
    "heic": (".heic", ".heif", ".hif", ".avif"),
}
"""File type filters by suffix; "raw" is `RAW_EXTENSIONS`, "other" the rest."""


def file_kind(path: Path) -> str:
    """The file type filter a photo falls under: jpeg, png, heic, raw or other."""
    suffix = path.suffix.lower()
    if suffix in RAW_EXTENSIONS:
        return "raw"
    return next((kind for kind, ends in FILE_KINDS.items() if suffix in ends), "other")


@dataclass(frozen=True)
class Filters:
    """What a search keeps: photos inside `folder`, taken within [after, before), named
    after one of `places` (place ids: `mmsearch.services.places.place_ids` turns a name
    into them), whose camera holds `camera`, of file type `kind` (`file_kind`)."""

    folder: Path | None = None
    after: datetime | None = None
    before: datetime | None = None
    places: tuple[int, ...] | None = None
    camera: str | None = None
    kind: str | None = None

    def __bool__(self) -> bool:
        return any(
            v is not None
            for v in (self.folder, self.after, self.before, self.places, self.camera, self.kind)
        )


NO_FILTERS = Filters()


@dataclass(frozen=True)
class PlaceInfo:
    """A place photos of the library were named after (`entry`: its row in the place
    database version that named them)."""

    id: int
    entry: int
    city: str | None
    region: str | None
    country: str
    country_code: str


@dataclass(frozen=True)
class PlaceCount(PlaceInfo):
    """A place, and how many photos were taken there."""

    photos: int = 0


@dataclass(frozen=True)
class FailureRecord:
    """A file that could not be indexed, to be remembered with the size and mtime it had."""

    folder_id: int
    path: Path
    reason: str
    size: int = -1
    mtime_ns: int = -1


@dataclass(frozen=True)
class FailureInfo:
    path: Path
    reason: str
    failed_at: datetime


SCHEMA_HEAD = "0008"
"""The newest schema revision (what `_head()` reads from the migrations; a test holds them
equal): a start compares the catalog's with it without importing Alembic (0.4 s)."""


def _migrations_config(connection: Any) -> Any:
    from alembic.config import Config

    cfg = Config()
    location = resources.files("mmsearch.catalog") / "migrations"
    cfg.set_main_option("script_location", str(location))
    cfg.attributes["connection"] = connection
    return cfg


def _head() -> str | None:
    """The newest schema revision the migrations know."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_migrations_config(None)).get_current_head()


def _prefix_range(folder: Path) -> tuple[bytes, bytes]:
    """Byte bounds that select every path strictly inside `folder`."""
    prefix = os.fsencode(folder).rstrip(b"/" + os.sep.encode()) + os.sep.encode()
    return prefix, prefix + b"\xff"


VECTOR_DTYPE = "<f2"
"""How vectors are stored (migration 0006): float16, cosine >= 0.9999 to the float32 ones."""


def vector_bytes(vector: np.ndarray) -> bytes:
    return np.asarray(vector, dtype=VECTOR_DTYPE).tobytes()


def id_matrix(rows: Sequence[Any]) -> tuple[np.ndarray, np.ndarray]:
    """(ids, matrix) of (photo id, stored vector) rows; a row whose vector has another length
    than most (damage an older version stored; the once-per-catalog scan drops it) is left
    out."""
    size = Counter(len(r[1]) for r in rows).most_common(1)[0][0] if rows else 0
    rows = [r for r in rows if len(r[1]) == size]
    if not rows:
        return np.zeros(0, dtype=np.int64), np.zeros((0, 0), dtype=np.float32)
    ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    return ids, unpack_vectors([r[1] for r in rows])


def unpack_vectors(blobs: Sequence[bytes]) -> np.ndarray:
    """Stored vectors (all of one length) as float32 rows, made unit length again (float16's
    rounding moves a norm by ~1e-4; inner products are cosines only for unit vectors)."""
    matrix = np.frombuffer(b"".join(blobs), dtype=VECTOR_DTYPE).astype(np.float32)
    matrix = matrix.reshape(len(blobs), -1)
    norms = np.sqrt(np.einsum("ij,ij->i", matrix, matrix))  # a fifth of linalg.norm's time
    norms[norms == 0] = 1.0
    matrix /= norms[:, None]
    return matrix


def regions_bytes(regions: np.ndarray) -> bytes:
    return np.asarray(regions, dtype="<f2").tobytes()


# -- opening: what is there, and whether it is sound ---------------------------------------------


def _translate(
    error: BaseException, data_dir: Path, db_path: Path, read_only: bool
) -> CatalogError | None:
    name = str(getattr(error, "sqlite_errorname", ""))
    text = str(error)
    lowered = text.lower()
    if (
        name.startswith("SQLITE_CORRUPT")
        or name == "SQLITE_NOTADB"
        or ("malformed" in lowered or "not a database" in lowered)
    ):
        return CatalogDamaged(db_path, text, list_backups(data_dir))
    if name.startswith("SQLITE_READONLY") or "readonly database" in lowered:
        return CatalogReadOnly(data_dir)
    if name == "SQLITE_FULL" or "database or disk is full" in lowered:
        return CatalogWriteFailed(db_path, text.splitlines()[0], full=True)
    if name.startswith("SQLITE_IOERR") or "disk i/o error" in lowered:
        # SQLite says "disk I/O error" when the WAL can't grow on a full disk, too.
        return CatalogWriteFailed(db_path, text.splitlines()[0], full=_nearly_full(data_dir))
    if read_only and name.startswith("SQLITE_CANTOPEN"):
        return CatalogReadOnly(data_dir, f"SQLite can't open {db_path} read-only: {text}")
    return None


def _is_new(db_path: Path) -> bool:
    try:
        return db_path.stat().st_size == 0
    except FileNotFoundError:
        return True


def _nearly_full(folder: Path) -> bool:
    try:
        return shutil.disk_usage(folder).free < 1 << 20
    except OSError:
        return False


def _writable(data_dir: Path, db_path: Path) -> bool:
    """Whether SQLite can write here: the folder (for the WAL and SHM files) and the file.
    os.access sees read-only mounts (EROFS) even as root, and modes as anyone else."""
    if not os.access(data_dir, os.W_OK):
        return False
    return not db_path.exists() or os.access(db_path, os.W_OK)


def _read_only_engine(data_dir: Path, db_path: Path, full_disk: bool = False) -> Engine:
    """An engine that only reads. In a read-only folder, SQLite can't create the WAL's
    shared-memory file: without a WAL to read (a cleanly closed catalog) the file is opened
    `immutable=1`; with a WAL and its -shm both present, `mode=ro` reads them; a WAL without
    -shm holds changes only a writer can read, so that is refused with a message."""
    if not db_path.is_file():
        raise CatalogReadOnly(data_dir, "and it has no catalog yet")
    wal, shm = Path(f"{db_path}-wal"), Path(f"{db_path}-shm")
    folder_writable = os.access(data_dir, os.W_OK)
    has_wal = wal.is_file() and wal.stat().st_size > 0
    if has_wal and not folder_writable and not shm.is_file():
        raise CatalogReadOnly(
            data_dir,
            f"its catalog has changes in {wal.name} that only a writer can read: "
            "open it once with write access",
        )
    # On a full disk, SQLite can't size the -shm to read even with mode=ro: a catalog with
    # nothing in its WAL is read as the file it is (no writer can add to it meanwhile).
    params = "mode=ro" if has_wal or (folder_writable and not full_disk) else "immutable=1"
    uri = f"file:{quote(os.fsencode(db_path))}?{params}"

    def connect() -> sqlite3.Connection:
        return sqlite3.connect(uri, uri=True, timeout=30, check_same_thread=False)

    return create_engine("sqlite+pysqlite://", creator=connect, poolclass=QueuePool)


def _identity(path: Path) -> list[int] | None:
    """Size, time and inode of the catalog and of its WAL: what must not have changed for
    the last check to still hold."""
    out: list[int] = []
    for p in (path, Path(f"{path}-wal")):
        try:
            st = p.stat()
        except OSError:
            if p == path:
                return None
            out += [-1, -1, -1]
            continue
        out += [st.st_size, st.st_mtime_ns, st.st_ino]
    return out


def _read_verified(data_dir: Path) -> list[int] | None:
    try:
        value = json.loads((data_dir / VERIFIED_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return value if isinstance(value, list) else None


LIBRARY_TRACES = ("index", "active-model.json", "model-versions.json", BACKUP_DIR)


def library_traces(data_dir: Path) -> list[str]:
    """What in the data folder shows that it held a library (so a catalog was there)."""
    traces = []
    for name in LIBRARY_TRACES:
        p = data_dir / name
        try:
            if p.is_file() or (p.is_dir() and any(p.iterdir())):
                traces.append(f"{name}/" if p.is_dir() else name)
        except OSError:
            continue
    return traces


def _refuse_lost_catalog(data_dir: Path, db_path: Path) -> None:
    """A missing or 0-byte catalog in a folder that held a library is a loss to report, not
    a new library to start (SQLite would happily create an empty one)."""
    try:
        size = db_path.stat().st_size
    except FileNotFoundError:
        size = None
    except OSError:
        return
    if size:
        return
    wal = Path(f"{db_path}-wal")
    if size == 0 and wal.is_file() and wal.stat().st_size > 0:
        return  # everything is still in the WAL (never checkpointed): SQLite reads it
    traces = library_traces(data_dir)
    if not traces:
        return  # a brand-new data folder (or an empty file nothing else refers to)
    what = "is missing" if size is None else "is empty (0 bytes)"
    raise CatalogMissing(db_path, what, traces, list_backups(data_dir))


_INFO_COLUMNS = (
    Photo.id,
    Photo.path,
    Photo.size,
    Photo.width,
    Photo.height,
    Photo.taken_at,
    Photo.camera,
    Photo.taken_from,
    Photo.latitude,
    Photo.longitude,
    Place.city,
    Place.region,
    Place.country,
)


def _info_select(*more: Any) -> Any:
    """The columns `_photo_info` reads (and `more`), each photo with its place: plain rows,
    not ORM objects (a search reads hundreds of them)."""
    return select(*_INFO_COLUMNS, *more).outerjoin(
        Place, (Place.id == Photo.place_id) & (Place.entry >= 0)
    )


def _photo_info(row: Any) -> PhotoInfo:
    """A PhotoInfo from a row of `_info_select`."""
    i, path, size, width, height, taken_at, camera, source, lat, lon, city, region, country = row[
        : len(_INFO_COLUMNS)
    ]
    label = place_label(city, region, country) or None
    gps = (lat, lon) if lat is not None and lon is not None else None
    return PhotoInfo(i, path, size, width, height, taken_at, camera, source, label, gps)


def _content_hashes(s: Session, ids: Iterable[int]) -> dict[int, str]:
    """{photo id: content hash} of those of `ids` still catalogued."""
    rows = s.execute(select(Photo.id, Photo.content_hash).where(Photo.id.in_(list(ids))))
    return {int(i): h for i, h in rows}


class Catalog:
    """The SQLite catalog in a data folder. Thread-safe for separate sessions."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        self.data_dir = Path(".")
        self.local_dir = Path(".")
        """This computer's own files of the library: its index, lock, map of roots."""
        self.path = Path(CATALOG_FILE)
        self.read_only = False
        """Opened read-only (the data folder or the file is not writable, or the disk is
        full)."""
        self.why_read_only: CatalogError | None = None
        """What a write meets when it is read-only for another reason than permissions."""
        self._verified = False
        self._damage: CatalogDamaged | None = None
        self._watch_lock = threading.Lock()
        self._watch: Any = None  # the pooled connection `data_version` asks on

    @classmethod
    def open(cls, data_dir: Path, *, start_empty: bool = False) -> Catalog:
        """Open (creating and migrating as needed) the catalog in `data_dir`.

        Raises CatalogDamaged when SQLite finds it damaged (checked with `PRAGMA quick_check`
        when the file changed since it was last found sound; any later query that meets
        damage raises it too), CatalogMissing when it is gone or empty although the folder
        held a library (`start_empty=True`: the caller wants a new one), CatalogReadOnly
        when a read-only folder's catalog can't be used as it is. A read-only data folder
        is opened read-only: searching works, writes raise CatalogReadOnly."""
        db_path = data_dir / CATALOG_FILE
        try:
            data_dir.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise CatalogError(
                f"cannot create the data folder {data_dir}: {e.strerror}. "
                "Choose another with --data-dir or MMSEARCH_HOME."
            ) from e
        if not start_empty:
            _refuse_lost_catalog(data_dir, db_path)
        read_only = not _writable(data_dir, db_path)
        if not read_only and _is_new(db_path):
            # Two processes creating one library at once: the second one's switch to WAL
            # would fail with "database is locked". One creates it, the other waits.
            with writer_lock(data_dir, "new catalog"):
                return cls._open(data_dir, db_path, read_only)
        try:
            return cls._open(data_dir, db_path, read_only)
        except CatalogWriteFailed as e:
            if read_only or not e.full or not db_path.is_file():
                raise
            # A full disk: SQLite can't even size the WAL's shared memory to read. Searching
            # still works from the file as it is; writes say the disk is full.
            catalog = cls._open(data_dir, db_path, True, full_disk=True)
            catalog.why_read_only = e
            return catalog

    @classmethod
    def _open(
        cls, data_dir: Path, db_path: Path, read_only: bool, full_disk: bool = False
    ) -> Catalog:
        if read_only:
            engine = _read_only_engine(data_dir, db_path, full_disk)
        else:
            engine = create_engine(f"sqlite:///{db_path}", connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            if read_only:
                cur.execute("PRAGMA query_only=ON")
            else:
                # WAL: readers never block the writer, and a crash mid-write loses at most
                # the transaction in flight. NORMAL sync is safe in WAL against app crashes.
                cur.execute("PRAGMA journal_mode=WAL")
                cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        @event.listens_for(engine, "handle_error")
        def _user_errors(context: ExceptionContext) -> None:
            # Wherever a query meets damage (or a write meets a read-only file), the caller
            # gets the error that says what to do, never a raw DatabaseError.
            error = _translate(context.original_exception, data_dir, db_path, read_only)
            if isinstance(error, CatalogDamaged):
                catalog._damage = error
                with suppress(OSError):  # no longer sound: the next open checks it again
                    (data_dir / VERIFIED_FILE).unlink(missing_ok=True)
            if isinstance(error, CatalogReadOnly):
                error = catalog.write_refusal()
            if error is not None:
                raise error from context.original_exception

        catalog = cls(engine)
        catalog.data_dir, catalog.path, catalog.read_only = data_dir, db_path, read_only
        catalog.local_dir = data_dir
        try:
            catalog.use_roots(RootMap.read(data_dir))
            if not read_only:
                catalog._check_if_changed()
            catalog._migrate()
        except CatalogError:
            engine.dispose()
            raise
        except DatabaseError as e:
            engine.dispose()
            raise CatalogError(f"the catalog {db_path} cannot be read ({e.orig})") from e
        return catalog

    def _wrote_vectors(
        self, s: Session, model_id: str, ids: Sequence[int], vectors: Sequence[np.ndarray]
    ) -> None:
        """Called in the transaction that stored these vectors (a server keeps them a second
        time, for its own vector index)."""

    def complete_vectors(self) -> int:
        """After a bulk copy into this catalog: derive what a write would have (a server's
        searchable vectors); returns how many rows were completed."""
        return 0

    @staticmethod
    def _likely(clause: Any) -> Any:
        """`clause`, told to SQLite's planner that it is nearly always true."""
        return func.likelihood(clause, literal_column("0.9375"))

    @staticmethod
    def _insert(table: Any) -> Any:
        """An INSERT that can say ON CONFLICT, in this catalog's dialect."""
        return sqlite_insert(table)

    def write_refusal(self) -> CatalogError:
        """The error a write to this read-only catalog meets: why it can't be written."""
        return self.why_read_only or CatalogReadOnly(self.data_dir)

    def _check_if_changed(self) -> None:
        """`PRAGMA quick_check` unless the file is as it was when last found sound (see
        VERIFIED_FILE for the cost)."""
        if _identity(self.path) == _read_verified(self.data_dir) or not self.path.exists():
            self._verified = True
            return
        with self.engine.connect() as conn:
            problem = check_connection(conn.connection.dbapi_connection)  # type: ignore[arg-type]
        if problem is not None:
            raise CatalogDamaged(self.path, problem, list_backups(self.data_dir))
        self._verified = True

    def check(self) -> None:
        """The full `PRAGMA quick_check`, now; raises CatalogDamaged."""
        with self.engine.connect() as conn:
            problem = check_connection(conn.connection.dbapi_connection)  # type: ignore[arg-type]
        if problem is not None:
            raise CatalogDamaged(self.path, problem, list_backups(self.data_dir))

    def _migrate(self) -> None:
        if self._schema_is_current():
            pass
        elif self.read_only:
            current = self.schema_version()
            raise CatalogReadOnly(
                self.data_dir,
                f"its catalog needs an upgrade from schema {current} to {_head()}: "
                "open it once with write access",
            )
        else:
            # Under the writer lock: two processes opening a new library at once would both
            # create the tables (and one fail with "table alembic_version already exists").
            from alembic import command
            from alembic.runtime.migration import MigrationContext

            with writer_lock(self.data_dir, "catalog upgrade"), self.engine.begin() as conn:
                cfg = _migrations_config(conn)
                if MigrationContext.configure(conn).get_current_revision() != _head():
                    command.upgrade(cfg, "head")
        self._verified = self._verified or not self.read_only

    def _schema_is_current(self) -> bool:
        return self.schema_version() == SCHEMA_HEAD

    def schema_version(self) -> str | None:
        """The catalog's schema revision (Alembic's table, read plainly), None before any."""
        with self.engine.connect() as conn:
            if not conn.exec_driver_sql(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'"
            ).first():
                return None
            versions = conn.exec_driver_sql("SELECT version_num FROM alembic_version").all()
        return str(versions[0][0]) if len(versions) == 1 else None

    def data_version(self) -> int:
        """A number that changes whenever anyone (this process or another) commits to the
        catalog: SQLite's `PRAGMA data_version`, asked on one connection kept for it that
        never writes (the number changes for other connections' commits). What a cache of
        query results is checked against: ~10 us."""
        with self._watch_lock:
            if self._watch is None:
                self._watch = self.engine.raw_connection()
            return int(self._watch.driver_connection.execute("PRAGMA data_version").fetchone()[0])

    def close(self) -> None:
        with self._watch_lock:
            if self._watch is not None:
                self._watch.close()
                self._watch = None
        self.engine.dispose()
        if self._verified and not self.read_only and self._damage is None:
            # As we leave it: found sound at open, and written since by SQLite only.
            identity = _identity(self.path)
            # A search wrote nothing: the record still holds, and close writes no file.
            if identity is not None and identity != _read_verified(self.data_dir):
                with suppress(OSError):
                    write_json(self.data_dir / VERIFIED_FILE, identity)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session whose work is committed as one transaction, or rolled back on error."""
        with self._sessions.begin() as session:
            yield session

    # -- library roots (`mmsearch.catalog.roots`) -----------------------------------------

    @property
    def roots(self) -> RootMap:
        roots: RootMap = getattr(self.engine.dialect, ROOTS_ATTRIBUTE)
        return roots

    def use_roots(self, roots: RootMap) -> None:
        """Translate paths with `roots` from now on (every session of this catalog)."""
        setattr(self.engine.dialect, ROOTS_ATTRIBUTE, roots)

    def stored_roots(self) -> dict[str, int]:
        """{root name: folders under it} of the roots the catalog's folders use."""
        raw = type_coerce(Folder.path, LargeBinary)
        with self.engine.connect() as conn:
            paths = conn.execute(select(raw).where(raw >= MARK, raw < b"A")).scalars()
            names = Counter(
                bytes(p)[1:].partition(b"/")[0].decode("utf-8", "replace") for p in paths
            )
        return dict(names)

    def adopt_root(self, name: str) -> int:
        """Store the paths under root `name`'s folder on this computer (mapped in `roots`)
        relative to the root: folders, photos and failures that were added by their
        absolute path before the root was mapped. A row whose root form is already stored
        (another computer indexed the same file through the root) gives way to it: a
        folder hands its photos over, a photo or failure is dropped. Returns the rows
        rewritten. One transaction."""
        mount = os.fsencode(self.roots.mounts[name])
        low, high = _prefix_range(self.roots.mounts[name])
        rewritten = 0
        with self.session() as s:
            for table in (Folder, Photo, Failure):
                raw = type_coerce(table.path, LargeBinary)
                rows = s.execute(
                    select(table.id, raw).where(
                        or_(raw == literal(mount, LargeBinary), and_(raw > low, raw < high))
                    )
                ).all()
                if not rows:
                    continue
                stored = {
                    bytes(p): i
                    for i, p in s.execute(
                        select(table.id, raw).where(
                            raw >= MARK + name.encode(), raw < MARK + name.encode() + b"0"
                        )
                    ).all()
                }
                moves, drops = [], []
                for row_id, path in rows:
                    new = self.roots.store(bytes(path))
                    if new in stored:
                        drops.append((row_id, stored[new]))
                    else:
                        moves.append({"i": row_id, "p": new})
                for old, kept in drops:
                    if table is Folder:
                        for child in (Photo, Failure):
                            s.execute(
                                update(child).where(child.folder_id == old).values(folder_id=kept)
                            )
                    s.execute(delete(table).where(table.id == old))
                if moves:
                    rows_of = Base.metadata.tables[table.__tablename__]
                    s.execute(
                        update(rows_of)
                        .where(rows_of.c.id == bindparam("i"))
                        .values(path=bindparam("p", type_=LargeBinary)),
                        moves,
                    )
                rewritten += len(moves) + len(drops)
        return rewritten

    # -- folders ---------------------------------------------------------------------------

    def folders(self) -> list[FolderInfo]:
        with self.session() as s:
            photo_counts = dict(
                s.execute(select(Photo.folder_id, func.count()).group_by(Photo.folder_id)).all()
            )
            failure_counts = dict(
                s.execute(select(Failure.folder_id, func.count()).group_by(Failure.folder_id)).all()
            )
            return [
                FolderInfo(f.id, f.path, photo_counts.get(f.id, 0), failure_counts.get(f.id, 0))
                for f in s.scalars(select(Folder).order_by(Folder.path))
            ]

    def add_folder(self, path: Path) -> tuple[FolderInfo, str]:
        """Add a folder; returns it and a note. A folder inside a known one is not added twice;
        a folder that contains known ones takes their photos over."""
        path = Path(os.path.abspath(path))
        with self.session() as s:
            for folder in s.scalars(select(Folder)):
                if folder.path == path or path.is_relative_to(folder.path):
                    return self._info(s, folder), f"already covered by {folder.path}"
            new = Folder(path=path, added_at=datetime.now())
            s.add(new)
            s.flush()
            absorbed = [f for f in s.scalars(select(Folder)) if f.path.is_relative_to(path)]
            absorbed = [f for f in absorbed if f.id != new.id]
            for child in absorbed:
                s.execute(update(Photo).where(Photo.folder_id == child.id).values(folder_id=new.id))
                s.execute(
                    update(Failure).where(Failure.folder_id == child.id).values(folder_id=new.id)
                )
                s.execute(delete(Folder).where(Folder.id == child.id))
            note = "added"
            if absorbed:
                note += " (includes " + ", ".join(str(f.path) for f in absorbed) + ")"
            return self._info(s, new), note

    def remove_folder(self, path: Path) -> list[int] | None:
        """Forget a folder and its photos; returns the removed photo ids, None if unknown."""
        path = Path(os.path.abspath(path))
        with self.session() as s:
            folder = s.scalar(select(Folder).where(Folder.path == path))
            if folder is None:
                return None
            ids = list(s.scalars(select(Photo.id).where(Photo.folder_id == folder.id)))
            s.execute(delete(Folder).where(Folder.id == folder.id))
            return ids

    def _info(self, s: Session, folder: Folder) -> FolderInfo:
        photos = s.scalar(select(func.count()).where(Photo.folder_id == folder.id)) or 0
        failures = s.scalar(select(func.count()).where(Failure.folder_id == folder.id)) or 0
        return FolderInfo(folder.id, folder.path, photos, failures)

    # -- what the indexer reads --------------------------------------------------------------

    def known_photos(self, folder_id: int, model_id: str) -> dict[Path, KnownPhoto]:
        with self.session() as s:
            embedded = select(Embedding.photo_id).where(Embedding.model_id == model_id)
            rows = s.execute(
                select(
                    Photo.id,
                    Photo.path,
                    Photo.size,
                    Photo.mtime_ns,
                    Photo.content_hash,
                    Photo.id.in_(embedded),
                ).where(Photo.folder_id == folder_id)
            ).all()
        return {r[1]: KnownPhoto(r[0], r[1], r[2], r[3], r[4], bool(r[5])) for r in rows}

    def known_failures(self, folder_id: int) -> dict[Path, tuple[int, int]]:
        """Failed paths of a folder with the size and mtime they failed at."""
        with self.session() as s:
            rows = s.execute(
                select(Failure.path, Failure.size, Failure.mtime_ns).where(
                    Failure.folder_id == folder_id
                )
            ).all()
        return {r[0]: (r[1], r[2]) for r in rows}

    def failure_states(self, folder_id: int) -> dict[Path, tuple[int, int, str]]:
        """Failed paths of a folder with the size, mtime and reason they failed with."""
        with self.session() as s:
            rows = s.execute(
                select(Failure.path, Failure.size, Failure.mtime_ns, Failure.reason).where(
                    Failure.folder_id == folder_id
                )
            ).all()
        return {r[0]: (r[1], r[2], r[3]) for r in rows}

    def embedded_hashes(self, model_id: str) -> set[str]:
        """Content hashes of every photo embedded under `model_id`."""
        with self.session() as s:
            return set(
                s.scalars(
                    select(Photo.content_hash)
                    .join(Embedding, Embedding.photo_id == Photo.id)
                    .where(Embedding.model_id == model_id)
                )
            )

    def photo_by_hash(
        self, content_hash: str, model_id: str
    ) -> tuple[PhotoInfo, np.ndarray] | None:
        """A catalogued photo with this content and its embedding, to reuse for a copy."""
        with self.session() as s:
            row = s.execute(
                _info_select(Embedding.vector)
                .join(Embedding, Embedding.photo_id == Photo.id)
                .where(Photo.content_hash == content_hash, Embedding.model_id == model_id)
                .limit(1)
            ).first()
            if row is None:
                return None
            info, vector = _photo_info(row), row[-1]
        return info, unpack_vectors([vector])[0]

    # -- what the indexer writes ---------------------------------------------------------------

    def add_photos(
        self, folder_id: int, model_id: str, records: Sequence[PhotoRecord]
    ) -> list[int]:
        """Insert or replace photos with their embeddings in one transaction; returns their ids."""
        bad = [
            i
            for i, r in enumerate(records)
            if len(bad_rows(r.vector))
            or (r.regions is not None and not np.isfinite(np.asarray(r.regions)).all())
        ]
        if bad:
            raise BadVectorError(
                f"refusing to store {len(bad)} vector(s) of {model_id} that are not finite "
                f"unit vectors (first: {records[bad[0]].path}): the model's files may be "
                "damaged; run `mmsearch doctor`"
            )
        now = datetime.now()
        ids: list[int] = []
        with self.session() as s:
            seq = self._take_seq(s, model_id)
            for r in records:
                photo = s.scalar(select(Photo).where(Photo.path == r.path))
                if photo is None:
                    photo = Photo(path=r.path, folder_id=folder_id)
                    s.add(photo)
                photo.folder_id = folder_id
                photo.size, photo.mtime_ns, photo.content_hash = r.size, r.mtime_ns, r.content_hash
                photo.width, photo.height = r.width, r.height
                photo.taken_at, photo.camera, photo.indexed_at = r.taken_at, r.camera, now
                # New content: the details pass reads its date and position again.
                photo.details = photo.taken_from = photo.place_id = None
                photo.latitude = photo.longitude = None
                s.flush()
                seq += 1
                s.merge(
                    Embedding(
                        photo_id=photo.id, model_id=model_id, vector=vector_bytes(r.vector), seq=seq
                    )
                )
                if r.regions is not None:
                    s.merge(
                        Regions(photo_id=photo.id, model_id=model_id, data=regions_bytes(r.regions))
                    )
                else:  # new content without regions: old ones would describe another photo
                    s.execute(
                        delete(Regions).where(
                            Regions.photo_id == photo.id, Regions.model_id == model_id
                        )
                    )
                s.execute(delete(Failure).where(Failure.path == r.path))
                ids.append(photo.id)
            self._wrote_vectors(s, model_id, ids, [r.vector for r in records])
            counter = self._insert(EmbeddingWrites).values(model_id=model_id, seq=seq)
            s.execute(counter.on_conflict_do_update(index_elements=["model_id"], set_={"seq": seq}))
        return ids

    def move_photo(self, photo_id: int, new_path: Path, size: int, mtime_ns: int) -> None:
        """A file was moved or renamed: keep its row (and embedding), change its path."""
        with self.session() as s:
            s.execute(
                update(Photo)
                .where(Photo.id == photo_id)
                .values(path=new_path, size=size, mtime_ns=mtime_ns, details=None)
            )  # details: a new name may hold another date
            s.execute(delete(Failure).where(Failure.path == new_path))

    def touch_photo(self, photo_id: int, size: int, mtime_ns: int) -> None:
        """The file's time changed but its content did not."""
        with self.session() as s:
            s.execute(
                update(Photo).where(Photo.id == photo_id).values(size=size, mtime_ns=mtime_ns)
            )

    def delete_photos(self, ids: Sequence[int]) -> None:
        with self.session() as s:
            for start in range(0, len(ids), 500):
                s.execute(delete(Photo).where(Photo.id.in_(ids[start : start + 500])))

    def embedded_counts(self) -> dict[str, int]:
        """How many photos have a vector, for every model id that has any."""
        with self.session() as s:
            rows = s.execute(
                select(Embedding.model_id, func.count()).group_by(Embedding.model_id)
            ).all()
        return {str(model_id): int(count) for model_id, count in rows}

    def delete_model_data(self, model_id: str) -> int:
        """Forget every vector and region of `model_id` (its model was removed); returns how
        many photos had a vector. Photos and the other models' data stay."""
        with self.session() as s:
            gone = s.execute(delete(Embedding).where(Embedding.model_id == model_id))
            s.execute(delete(Regions).where(Regions.model_id == model_id))
            return int(getattr(gone, "rowcount", 0) or 0)

    def record_failure(
        self, folder_id: int, path: Path, reason: str, size: int = -1, mtime_ns: int = -1
    ) -> list[int]:
        """Remember one failed file; see `record_failures`."""
        return self.record_failures([FailureRecord(folder_id, path, reason, size, mtime_ns)])

    def record_failures(self, failures: Sequence[FailureRecord]) -> list[int]:
        """Remember failed files in one transaction; returns the ids of photos forgotten.

        A catalogued photo whose file now fails for a reason of its content (not an image,
        truncated...) is forgotten: its old vector describes bytes that are gone. One that
        fails for a reason that can heal (not found, permission denied, I/O error) keeps its
        row and vector: the file is most likely still the same photo.
        """
        if not failures:
            return []
        now = datetime.now()
        latest = {f.path: f for f in failures}  # one row per path, the last word wins
        doomed = [p for p, f in latest.items() if not can_heal(f.reason)]
        forgotten: list[int] = []
        with self.session() as s:
            for start in range(0, len(doomed), 500):
                chunk = doomed[start : start + 500]
                ids = list(s.scalars(select(Photo.id).where(Photo.path.in_(chunk))))
                if ids:
                    s.execute(delete(Photo).where(Photo.id.in_(ids)))
                    forgotten.extend(ids)
            rows = [
                {
                    "folder_id": f.folder_id,
                    "path": f.path,
                    "reason": f.reason,
                    "size": f.size,
                    "mtime_ns": f.mtime_ns,
                    "failed_at": now,
                }
                for f in latest.values()
            ]
            stmt = self._insert(Failure)
            stmt = stmt.on_conflict_do_update(
                index_elements=[Failure.path],
                set_={
                    "folder_id": stmt.excluded.folder_id,
                    "reason": stmt.excluded.reason,
                    "size": stmt.excluded.size,
                    "mtime_ns": stmt.excluded.mtime_ns,
                    "failed_at": stmt.excluded.failed_at,
                },
            )
            for start in range(0, len(rows), 5000):
                s.execute(stmt, rows[start : start + 5000])
        return forgotten

    def clear_failures(self, paths: Sequence[Path]) -> None:
        wanted = list(paths)
        with self.session() as s:
            for start in range(0, len(wanted), 500):
                s.execute(delete(Failure).where(Failure.path.in_(wanted[start : start + 500])))

    # -- damaged vectors -----------------------------------------------------------------------

    def vectors_checked(self) -> bool:
        """Whether every stored vector was checked once (by `bad_vector_ids`, then marked):
        since writes refuse bad vectors, one scan per catalog is enough. Kept in SQLite's
        `user_version`, so it travels with the file into backups and restores."""
        with self.engine.connect() as conn:
            return int(conn.exec_driver_sql("PRAGMA user_version").scalar() or 0) >= 1

    def mark_vectors_checked(self) -> None:
        with self.engine.begin() as conn:
            conn.exec_driver_sql("PRAGMA user_version = 1")

    def bad_vector_ids(self, model_id: str, chunk: int = 8192) -> list[int]:
        """Photos whose stored vector of `model_id` is not a finite unit vector (or whose
        regions are not finite): written by an older mmsearch from a damaged model.
        Streams the rows in chunks: about 0.15 s per 10,000 photos of a 384-d model."""
        bad: list[int] = []
        for table, column, dtype in (
            (Embedding, Embedding.vector, VECTOR_DTYPE),
            (Regions, Regions.data, "<f2"),
        ):
            size: int | None = None
            stmt = select(table.photo_id, column).where(table.model_id == model_id)
            with self.engine.connect() as conn:
                result = conn.execution_options(stream_results=True).execute(stmt)
                for rows in result.partitions(chunk):
                    # The length most rows have is the model's; any other is damage.
                    size = size or Counter(len(r[1]) for r in rows).most_common(1)[0][0]
                    bad.extend(int(r[0]) for r in rows if len(r[1]) != size)
                    same = [r for r in rows if len(r[1]) == size]
                    if not same:
                        continue
                    flat = np.frombuffer(b"".join(r[1] for r in same), dtype=dtype)
                    matrix = flat.reshape(len(same), -1)
                    if table is Embedding:
                        wrong = bad_rows(matrix)
                    else:
                        wrong = np.flatnonzero(~np.isfinite(matrix).all(axis=1))
                    bad.extend(int(same[i][0]) for i in wrong)
        return sorted(set(bad))

    def drop_vectors(self, model_id: str, ids: Sequence[int]) -> None:
        """Forget the vectors and regions of `model_id` of these photos (the photos stay,
        so the next indexing run embeds them again)."""
        wanted = [int(i) for i in ids]
        with self.session() as s:
            for start in range(0, len(wanted), 500):
                chunk = wanted[start : start + 500]
                s.execute(
                    delete(Embedding).where(
                        Embedding.model_id == model_id, Embedding.photo_id.in_(chunk)
                    )
                )
                s.execute(
                    delete(Regions).where(Regions.model_id == model_id, Regions.photo_id.in_(chunk))
                )

    # -- what search reads -------------------------------------------------------------------

    def embedding_ids(self, model_id: str) -> np.ndarray:
        """Sorted photo ids that have an embedding under `model_id`."""
        with self.session() as s:
            ids = s.scalars(
                select(Embedding.photo_id)
                .where(Embedding.model_id == model_id)
                .order_by(Embedding.photo_id)
            ).all()
        return np.asarray(ids, dtype=np.int64)

    def vectors(
        self, model_id: str, ids: Sequence[int] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """(ids, matrix) of the embeddings under `model_id`, all of them or those of `ids`."""
        rows = self._vector_rows(model_id, ids)
        found, matrix = id_matrix(rows)
        if len(found) < len(rows):  # damaged rows (the indexer's once-per-catalog scan drops them)
            log.warning(
                "%d vectors of %s have the wrong length: skipped", len(rows) - len(found), model_id
            )
        return found, matrix

    def _vector_rows(self, model_id: str, ids: Sequence[int] | None) -> Sequence[Any]:
        """(photo id, stored vector) rows of `model_id`: all of them in id order, or those
        of `ids`."""
        stmt = select(Embedding.photo_id, Embedding.vector).where(Embedding.model_id == model_id)
        rows: list[Any] = []
        with self.session() as s:
            if ids is None:
                rows = list(s.execute(stmt.order_by(Embedding.photo_id)).all())
            else:
                for among in self._among_chunks(Embedding.photo_id, ids):
                    rows.extend(s.execute(stmt.where(among)).all())
        return rows

    def embedding_seq(self, model_id: str) -> int:
        """The last write number given to a vector of `model_id` (0: none since migration
        0006; never lowered by deletions): what an index holding every vector written so
        far records."""
        with self.session() as s:
            return self._embedding_seq(s, model_id)

    def embedding_count_and_seq(self, model_id: str) -> tuple[int, int]:
        """How many vectors `model_id` has, and the last write number given to one: what
        tells an index it is current."""
        with self.session() as s:
            count = s.scalar(select(func.count()).where(Embedding.model_id == model_id))
            return int(count or 0), self._embedding_seq(s, model_id)

    @staticmethod
    def _embedding_seq(s: Session, model_id: str) -> int:
        top = s.scalar(select(EmbeddingWrites.seq).where(EmbeddingWrites.model_id == model_id))
        return int(top or 0)

    def _take_seq(self, s: Session, model_id: str) -> int:
        """The model's last write number, for a write: its counter row is locked until the
        transaction ends. On a server, writers of one model so take their numbers in turn
        and commit in that order: a reader that sees number n sees every row numbered up to
        n, and an index saved at n never misses one. (SQLite has one writer anyway.)"""
        s.execute(
            self._insert(EmbeddingWrites)
            .values(model_id=model_id, seq=0)
            .on_conflict_do_nothing(index_elements=["model_id"])
        )
        top = s.scalar(
            select(EmbeddingWrites.seq)
            .where(EmbeddingWrites.model_id == model_id)
            .with_for_update()
        )
        return int(top or 0)

    def vectors_since(self, model_id: str, seq: int) -> tuple[np.ndarray, np.ndarray]:
        """(ids, matrix) of the vectors of `model_id` written after write number `seq`: what
        an index saved at `seq` lacks (new photos, and new vectors of changed ones)."""
        stmt = select(Embedding.photo_id, Embedding.vector).where(
            Embedding.model_id == model_id, Embedding.seq > seq
        )
        with self.session() as s:
            rows = list(s.execute(stmt.order_by(Embedding.seq)).all())
        return id_matrix(rows)

    def regions(self, model_id: str, ids: Sequence[int]) -> dict[int, np.ndarray]:
        """Fusion regions (flat float16 arrays; the model's spec gives their shape) of the
        photos `ids` that have them under `model_id`."""
        out: dict[int, np.ndarray] = {}
        stmt = select(Regions.photo_id, Regions.data).where(Regions.model_id == model_id)
        with self.session() as s:
            for among in self._among_chunks(Regions.photo_id, ids):
                for photo_id, data in s.execute(stmt.where(among)):
                    out[photo_id] = np.frombuffer(data, dtype="<f2").astype(np.float16)
        return out

    def filtered_ids(self, model_id: str | None, filters: Filters = NO_FILTERS) -> np.ndarray:
        """Ids of the photos embedded under `model_id` (any photo for None) that `filters`
        keep, in id order.

        None skips the check of each photo's vector (a key lookup each: 24 against 4 ms for
        10,000 photos): for a search in an index, which holds only embedded photos anyway."""
        stmt = select(Photo.id)
        if model_id is not None:
            embedded = (
                select(Embedding.photo_id)
                .where(Embedding.photo_id == Photo.id, Embedding.model_id == model_id)
                .exists()
            )  # a key lookup per photo kept, never a read of its vector
            stmt = stmt.where(embedded)
        stmt = self._filters(stmt, filters).order_by(Photo.id)
        with self.session() as s:
            conn = s.connection()  # Core rows: the ORM's per-row work doubled the time
            if filters.kind is None:
                return np.fromiter(conn.execute(stmt).scalars(), dtype=np.int64)
            rows = conn.execute(stmt.add_columns(Photo.path))
            return np.asarray(
                [row[0] for row in rows if file_kind(row[1]) == filters.kind], dtype=np.int64
            )

    def kept(self, ids: np.ndarray | Sequence[int], filters: Filters) -> np.ndarray:
        """Those of `ids` that `filters` keep, in the order given: a key lookup each, however
        many photos the filters keep in the whole library (a search checks its candidates
        with it)."""
        wanted = np.asarray(ids, dtype=np.int64)
        if not filters or not len(wanted):
            return wanted
        passed: set[int] = set()
        listed = wanted.tolist()
        with self.session() as s:
            conn = s.connection()
            for among in self._among_chunks(Photo.id, listed):
                # SQLite's plan: a key lookup per listed id (EXPLAIN QUERY PLAN), never the
                # filter's index range, which may hold most of the library
                stmt = self._filters(select(Photo.id, Photo.path).where(among), filters)
                passed.update(
                    row[0]
                    for row in conn.execute(stmt)
                    if filters.kind is None or file_kind(row[1]) == filters.kind
                )
        mask = np.fromiter((i in passed for i in listed), dtype=bool, count=len(listed))
        kept: np.ndarray = wanted[mask]
        return kept

    #: How many ids one `IN` list holds (SQLite binds at most 32,766 parameters; 900 keeps
    #: each statement small). A server takes any number as one array (`_among`).
    ID_CHUNK = 900

    @staticmethod
    def _among(column: Any, ids: list[int]) -> Any:
        """`column` is one of `ids` (at most ID_CHUNK of them)."""
        return column.in_(ids)

    def _among_chunks(self, column: Any, ids: Sequence[int]) -> Iterator[Any]:
        """`column` is one of `ids`, as one clause per statement to run (ID_CHUNK ids each)."""
        wanted = [int(i) for i in ids]
        for start in range(0, len(wanted), self.ID_CHUNK):
            yield self._among(column, wanted[start : start + self.ID_CHUNK])

    def filtered_vectors(
        self, model_id: str, filters: Filters, kept: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """(ids, matrix) of the vectors of `model_id` of the photos `filters` keep, in one
        query: what a filtered search scores exactly. `kept`: those photos' ids when the
        caller listed them already (a server reads their vectors by id; SQLite's join
        below is faster without).

        Driven from the photos' side (their path and date indexes, then each one's vector by
        its key): SQLite has no statistics and takes `model_id = ?` for a narrow term; told
        it is not (`likelihood`), it no longer reads every vector of the model first (90 ms
        instead of 4 for a 1 % folder at 100,000 photos)."""
        stmt = select(Photo.id, Embedding.vector).join(
            Embedding,
            and_(
                Embedding.photo_id == Photo.id,
                self._likely(Embedding.model_id == model_id),
            ),
        )
        if filters.kind is not None:
            stmt = stmt.add_columns(Photo.path)
        with self.session() as s:  # Core rows, as in filtered_ids
            rows: list[Any] = list(s.connection().execute(self._filters(stmt, filters)).all())
        if filters.kind is not None:
            rows = [r for r in rows if file_kind(r[2]) == filters.kind]
        return id_matrix(rows)

    def _filters(self, stmt: _Query, filters: Filters) -> _Query:
        """`stmt` (over photos) restricted to the photos `filters` keep (but `kind`, which
        is read from the path by `file_kind`)."""
        if filters.folder is not None:
            folder = Path(os.path.abspath(filters.folder))
            # A library root's photos are stored under its name (`@family/...`), outside
            # the folder's range of paths: a folder above a root's folder takes in the
            # root's range too (the bounds go through FsPath, which stores them so).
            ranges = [_prefix_range(folder)] + [
                _prefix_range(mount)
                for mount in self.roots.mounts.values()
                if mount != folder and mount.is_relative_to(folder)
            ]
            stmt = stmt.where(or_(*(and_(Photo.path > lo, Photo.path < hi) for lo, hi in ranges)))
        if filters.after is not None:
            stmt = stmt.where(Photo.taken_at >= filters.after)
        if filters.before is not None:
            stmt = stmt.where(Photo.taken_at < filters.before)
        if filters.places is not None:
            stmt = stmt.where(Photo.place_id.in_(filters.places))
        if filters.camera is not None:
            stmt = stmt.where(func.lower(Photo.camera).contains(filters.camera.lower().strip()))
        return stmt

    def photos(self, ids: Sequence[int]) -> dict[int, PhotoInfo]:
        out: dict[int, PhotoInfo] = {}
        with self.session() as s:
            for among in self._among_chunks(Photo.id, ids):
                for row in s.execute(_info_select().where(among)):
                    out[row[0]] = _photo_info(row)
        return out

    # -- the details pass: dates, GPS, places (migration 0005) ---------------------------------

    def photos_needing_details(self, version: int) -> list[tuple[int, Path, int, datetime | None]]:
        """(id, path, mtime_ns, EXIF date as indexing read it) of every photo whose header
        the details pass `version` has not read since its content or path last changed."""
        with self.session() as s:
            rows = s.execute(
                select(Photo.id, Photo.path, Photo.mtime_ns, Photo.taken_at, Photo.taken_from)
                .where(or_(Photo.details.is_(None), Photo.details < version))
                .order_by(Photo.id)
            ).all()
        return [
            (i, path, mtime, taken if source in (None, "exif") else None)
            for i, path, mtime, taken, source in rows
        ]

    def store_details(
        self,
        version: int,
        details: dict[int, tuple[datetime | None, str | None, tuple[float, float] | None]],
    ) -> None:
        """{photo id: (date, its source, GPS position)} read by the details pass `version`,
        in one transaction. A photo whose position changed is named again."""
        with self.session() as s:
            for photo_id, (taken_at, source, gps) in details.items():
                photo = s.get(Photo, photo_id)
                if photo is None:  # removed meanwhile
                    continue
                lat, lon = gps if gps is not None else (None, None)
                if (photo.latitude, photo.longitude) != (lat, lon):
                    photo.place_id = None
                photo.latitude, photo.longitude = lat, lon
                photo.taken_at, photo.taken_from, photo.details = taken_at, source, version

    def photos_to_place(self, geocoder: str) -> list[tuple[int, float, float]]:
        """(id, latitude, longitude) of the photos with a position not yet named by this
        geocoder version."""
        current = select(Place.id).where(Place.geocoder == geocoder)
        with self.session() as s:
            rows = s.execute(
                select(Photo.id, Photo.latitude, Photo.longitude).where(
                    Photo.latitude.is_not(None),
                    Photo.longitude.is_not(None),
                    or_(Photo.place_id.is_(None), Photo.place_id.not_in(current)),
                )
            ).all()
        return [(int(i), float(lat or 0.0), float(lon or 0.0)) for i, lat, lon in rows]

    def store_places(self, geocoder: str, named: dict[int, PlaceName | None]) -> None:
        """Name photos after places of this geocoder version ({photo id: place, None where
        no place is near}); places of older versions no photo points to any more go."""
        with self.session() as s:
            known = {
                (p.entry, p.city is not None): p.id
                for p in s.scalars(select(Place).where(Place.geocoder == geocoder))
            }
            for photo_id, name in named.items():
                key = (-1, False) if name is None else (name.entry, name.city is not None)
                if key not in known:
                    row = Place(
                        geocoder=geocoder,
                        entry=key[0],
                        city=None if name is None else name.city,
                        region=None if name is None else name.region,
                        country="" if name is None else name.country,
                        country_code="" if name is None else name.country_code,
                    )
                    s.add(row)
                    s.flush()
                    known[key] = row.id
                s.execute(update(Photo).where(Photo.id == photo_id).values(place_id=known[key]))
            used = select(Photo.place_id).where(Photo.place_id.is_not(None)).distinct()
            s.execute(delete(Place).where(Place.geocoder != geocoder, Place.id.not_in(used)))

    def place_counts(self) -> list[PlaceCount]:
        """The places the library's photos are named after, with their photo counts, most
        photos first (photos far from any place are not counted)."""
        stmt = (
            select(Place, func.count(Photo.id))
            .join(Photo, Photo.place_id == Place.id)
            .where(Place.entry >= 0)
            .group_by(Place.id)
            .order_by(func.count(Photo.id).desc(), Place.country, Place.region, Place.city)
        )
        with self.session() as s:
            return [
                PlaceCount(p.id, p.entry, p.city, p.region, p.country, p.country_code, n)
                for p, n in s.execute(stmt)
            ]

    def known_places(self) -> list[PlaceInfo]:
        """Every place photos were named after: the places table alone (small), without
        counting photos, so that reading a place in each typed query stays cheap on a
        large library. A place whose photos all went may still be listed."""
        with self.session() as s:
            return [
                PlaceInfo(p.id, p.entry, p.city, p.region, p.country, p.country_code)
                for p in s.scalars(select(Place).where(Place.entry >= 0).order_by(Place.id))
            ]

    def camera_counts(self) -> list[tuple[str, int]]:
        """(camera, photos) for every camera the photos' EXIF names, most photos first."""
        stmt = (
            select(Photo.camera, func.count(Photo.id))
            .where(Photo.camera.is_not(None))
            .group_by(Photo.camera)
            .order_by(func.count(Photo.id).desc(), Photo.camera)
        )
        with self.session() as s:
            return [(str(c), int(n)) for c, n in s.execute(stmt)]

    def details_counts(self, version: int) -> dict[str, int]:
        """How many photos the details pass read, have a position, a place, a date from
        each source."""
        with self.session() as s:
            row = s.execute(
                select(
                    func.count(Photo.id).filter(Photo.details >= version),
                    func.count(Photo.latitude),
                    func.count(Photo.place_id).filter(
                        Photo.place_id.in_(select(Place.id).where(Place.entry >= 0))
                    ),
                )
            ).one()
            sources = dict(
                s.execute(
                    select(Photo.taken_from, func.count(Photo.id))
                    .where(Photo.taken_from.is_not(None))
                    .group_by(Photo.taken_from)
                ).all()
            )
        return {
            "read": int(row[0]),
            "with_gps": int(row[1]),
            "with_place": int(row[2]),
            **{f"dated_from_{k}": int(v) for k, v in sources.items()},
        }

    def perceptual_hashes(self, ids: Sequence[int]) -> dict[int, int]:
        """{photo id: unsigned 64-bit dHash} of those of `ids` hashed since their content
        last changed."""
        out: dict[int, int] = {}
        stmt = select(PhotoHash.photo_id, PhotoHash.dhash).join(
            Photo, Photo.id == PhotoHash.photo_id
        )
        stmt = stmt.where(PhotoHash.content_hash == Photo.content_hash)
        with self.session() as s:
            for among in self._among_chunks(PhotoHash.photo_id, ids):
                for photo_id, value in s.execute(stmt.where(among)):
                    out[photo_id] = value & 0xFFFF_FFFF_FFFF_FFFF
        return out

    def store_perceptual_hashes(self, hashes: dict[int, int]) -> None:
        """Remember dHashes (unsigned 64-bit) of photos, with their current content hash,
        in one transaction; photos gone meanwhile are skipped."""
        if not hashes:
            return
        with self.session() as s:
            content = _content_hashes(s, hashes)
            for photo_id, value in hashes.items():
                if photo_id in content:
                    signed = value - (1 << 64) if value >= 1 << 63 else value
                    row = PhotoHash(photo_id=photo_id, content_hash=content[photo_id], dhash=signed)
                    s.merge(row)

    # -- text in photos (OCR) -------------------------------------------------------------------

    def photos_to_read(self, reader: str, model_id: str) -> list[tuple[int, Path]]:
        """(id, path) of the photos embedded under `model_id` whose text was not read by
        `reader` since their content last changed, in id order (the oldest first)."""
        current = (
            select(PhotoText.photo_id)
            .join(Photo, Photo.id == PhotoText.photo_id)
            .where(PhotoText.content_hash == Photo.content_hash, PhotoText.reader == reader)
        )
        stmt = (
            select(Photo.id, Photo.path)
            .join(Embedding, Embedding.photo_id == Photo.id)
            .where(Embedding.model_id == model_id, Photo.id.not_in(current))
            .order_by(Photo.id)
        )
        with self.session() as s:
            return [(int(i), p) for i, p in s.execute(stmt)]

    def store_texts(self, reader: str, texts: dict[int, tuple[str, str]]) -> None:
        """Remember what `reader` read in photos: {id: (search form, lines as JSON)}, with
        their current content hash, in one transaction; photos gone meanwhile are skipped."""
        if not texts:
            return
        with self.session() as s:
            content = _content_hashes(s, texts)
            for photo_id, (search, lines) in texts.items():
                if photo_id in content:
                    row = PhotoText(
                        photo_id=photo_id,
                        content_hash=content[photo_id],
                        reader=reader,
                        search=search,
                        lines=lines,
                    )
                    s.merge(row)

    def text_matches(self, terms: Sequence[str], limit: int = 5000) -> dict[int, str]:
        """{photo id: lines JSON} of the photos whose text (folded) contains every one of
        `terms` (already folded), read since their content last changed. The FTS5 trigram
        index answers terms of 3 characters or more (as substrings); shorter ones (two
        Chinese characters, "ok") filter those rows, or scan when they are all there is."""
        if not terms:
            return {}
        long = [t for t in terms if len(t) >= 3]
        short = [t for t in terms if len(t) < 3]
        where = []
        params: list[object] = []
        if long:  # one FTS5 query: each term a quoted phrase, a substring under trigrams
            where.append("f.search MATCH ?")
            params.append(" AND ".join('"' + t.replace('"', '""') + '"' for t in long))
        for t in short:
            where.append("instr(t.search, ?) > 0")
            params.append(t)
        return self._text_rows(" AND ".join(where), params, limit)

    def _text_rows(self, where: str, params: Sequence[object], limit: int) -> dict[int, str]:
        """{photo id: lines JSON} of the current texts (`f`: the FTS table, `t`: photo_text)
        that meet `where`."""
        sql = (
            "SELECT t.photo_id, t.lines FROM photo_text_fts f "
            "JOIN photo_text t ON t.photo_id = f.rowid "
            "JOIN photos p ON p.id = t.photo_id AND p.content_hash = t.content_hash "
            f"WHERE {where} LIMIT ?"
        )
        with self.engine.connect() as conn:
            rows = conn.exec_driver_sql(sql, (*params, limit)).all()
        return {int(r[0]): r[1] for r in rows}

    def texts_with_any(self, fragments: Sequence[str], limit: int = 20_000) -> dict[int, str]:
        """{photo id: lines JSON} of the photos whose text (folded, current) holds any of
        `fragments` (of 3 characters or more): the candidates of a fuzzy word match, which
        the caller checks."""
        fragments = [f for f in fragments if len(f) >= 3]
        if not fragments:
            return {}
        query = " OR ".join('"' + f.replace('"', '""') + '"' for f in fragments)
        return self._text_rows("f.search MATCH ?", [query], limit)

    def text_counts(self, reader: str) -> dict[str, int]:
        """Photos read by `reader` (current content) and how many of them hold text."""
        stmt = (
            select(func.count(), func.count().filter(PhotoText.search != ""))
            .select_from(PhotoText)
            .join(Photo, Photo.id == PhotoText.photo_id)
            .where(PhotoText.content_hash == Photo.content_hash, PhotoText.reader == reader)
        )
        with self.session() as s:
            read, with_text = s.execute(stmt).one()
        return {"read": int(read or 0), "with_text": int(with_text or 0)}

    def photo_by_path(self, path: Path) -> PhotoInfo | None:
        with self.session() as s:
            row = s.execute(_info_select().where(Photo.path == Path(os.path.abspath(path)))).first()
            return None if row is None else _photo_info(row)

    def failures(self) -> list[FailureInfo]:
        with self.session() as s:
            return [
                FailureInfo(f.path, f.reason, f.failed_at)
                for f in s.scalars(select(Failure).order_by(Failure.path))
            ]

    def counts(self, model_id: str) -> dict[str, int]:
        with self.session() as s:
            photos = s.scalar(select(func.count()).select_from(Photo)) or 0
            embedded = (
                s.scalar(
                    select(func.count())
                    .select_from(Embedding)
                    .where(Embedding.model_id == model_id)
                )
                or 0
            )
            failures = s.scalar(select(func.count()).select_from(Failure)) or 0
        return {"photos": photos, "embedded": embedded, "failures": failures}
