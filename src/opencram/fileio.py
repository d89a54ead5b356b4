"""Writing results without ever leaving a half-written file: write a temporary file in
the same folder, flush it to disk, then rename it over the target (atomic on POSIX).
A whole folder is written the same way (:func:`replace_folder`). User files are read
only when they are regular files of a sane size (:func:`read_user_text`)."""

from __future__ import annotations

import ctypes
import errno
import os
import shutil
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from opencram.errors import UserError
from opencram.jsonout import dumps_indented

# A user's text file (scenario, layouts, sensors, zones) larger than this is refused
# before it is read: the largest real one is a few megabytes.
MAX_USER_TEXT_BYTES = 64 * 1024 * 1024


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (:func:`atomic_write_chunks`)."""
    atomic_write_chunks(path, (data,))


def atomic_write_chunks(path: str | Path, chunks) -> None:
    """Like :func:`atomic_write_bytes`, for content given as an iterable of ``bytes``
    (written as they come, so the whole never needs to be in memory)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as fh:
            for chunk in chunks:
                fh.write(chunk)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_text(path: str | Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | Path, obj: Any) -> None:
    """Deterministic JSON: sorted keys, two-space indent, trailing newline; the bytes of
    ``json.dumps(obj, indent=2, sort_keys=True, allow_nan=False)``, written through orjson
    (:func:`opencram.jsonout.dumps_indented`)."""
    atomic_write_bytes(path, dumps_indented(obj))


def read_user_text(path, label: str | None = None, *, max_bytes: int = MAX_USER_TEXT_BYTES) -> str:
    """A user's text file as UTF-8; a missing or unreadable file, one that is not a regular
    file (a folder, a device, a pipe) or one larger than ``max_bytes`` is a one-line
    ``UserError`` starting with ``label`` (default: the path). At most ``max_bytes`` + 1
    bytes are read, so a file growing while it is read cannot exhaust memory either."""
    label = str(path) if label is None else label
    try:
        with open(path, "rb") as fh:
            st = os.fstat(fh.fileno())
            if not stat.S_ISREG(st.st_mode):
                raise UserError(f"{label}: not a regular file")
            data = fh.read(max_bytes + 1)
    except FileNotFoundError:
        raise UserError(f"{label}: file not found") from None
    except IsADirectoryError:
        raise UserError(f"{label}: not a regular file") from None
    except OSError as exc:
        raise UserError(f"{label}: cannot read: {exc.strerror or exc}") from None
    if len(data) > max_bytes:
        raise UserError(f"{label}: larger than {max_bytes // (1024 * 1024)} MiB; not a user file")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UserError(f"{label}: not UTF-8 text (byte {exc.start})") from None


# --- whole folders ------------------------------------------------------------------------

_AT_FDCWD = -100
_RENAME_EXCHANGE = 2  # linux/fs.h: swap the two names atomically


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one atomic step (Linux ``renameat2(RENAME_EXCHANGE)``); False where
    the C library or the file system does not offer it."""
    try:
        fn = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):
        return False
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    if fn(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def replace_folder(folder: str | Path, fill: Callable[[Path], None]) -> None:
    """Write a whole folder atomically: ``fill(tmp)`` writes the new content into a fresh
    hidden folder beside ``folder`` (``.NAME.*.tmp``), which then takes ``folder``'s place in
    one rename (an existing ``folder`` is swapped out atomically where Linux can, else
    renamed aside first, then removed). A reader sees the old folder or the new one, never
    a mix; if ``fill`` fails, ``folder`` is untouched. A kill leaves at most a hidden
    temporary folder beside it (or, without the atomic swap and between the two renames,
    the old folder under a hidden ``.NAME.*.old`` name)."""
    folder = Path(os.path.realpath(folder))
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".tmp", dir=folder.parent))
    try:
        os.chmod(tmp, 0o777 & ~_umask())
        fill(tmp)
        _fsync_dir(tmp)
        if not folder.exists():
            os.rename(tmp, folder)
        elif _exchange(tmp, folder):
            pass  # tmp now holds the old content
        else:
            aside = Path(
                tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".old", dir=folder.parent)
            )
            os.rename(folder, aside / "old")
            os.rename(tmp, folder)
            tmp = aside
        _fsync_dir(folder.parent)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    shutil.rmtree(tmp, ignore_errors=True)
