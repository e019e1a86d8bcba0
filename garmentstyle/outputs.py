"""One boundary for every file a command writes: checked before any work, written all-or-nothing.

Why: a render takes minutes; finding out afterwards that ``--out`` is a folder, or that ``--report`` is the same
file as ``--out``, wastes the work, and writing outputs one by one leaves half a result (or a destroyed input) when
the second write fails. So a command first declares its inputs and outputs::

    outs = Outputs(inputs={"sketch": args.sketch, "recipe": args.recipe})
    out = outs.file("--out", args.out, suffixes=(".png",))
    report = outs.file("--report", args.report, suffixes=(".json",))
    outs.check()                      # every rule below, before any work
    ...                               # the work
    with outs.writing() as tx:        # nothing under a final name until every file is written
        result.save(tx.path(out))
        atomic_write_bytes(tx.path(report), data)

Rules (each broken rule is one :class:`~garmentstyle.errors.OutputError` naming the flag, the path and the fix):
the path is not empty and not an existing folder (a file is expected) — or, for :meth:`Outputs.directory`, not an
existing file; its nearest existing parent is a folder we can create files in (probed with a real temporary
file, so it also holds for root and read-only mounts); no path component is longer than the file system allows
(``NAME_MAX``, usually 255 bytes) and the whole path fits ``PATH_MAX``; it is not the same file as any input
(resolved paths, and ``os.path.samefile`` for links) nor as another output.

Writing: every file goes first to a short temporary name (``.gs-XXXXXXXX.png``, far below any name limit) in its
target's own folder (so the final rename is atomic and never crosses file systems); missing parent folders are
created. On success the temporaries are renamed onto the final names together; an existing file is kept aside
until every rename succeeded, so a failure restores it. On any failure (including Ctrl-C) everything this command
created is removed, and every ``OSError`` becomes an :class:`OutputError`.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Mapping, Optional, Sequence

from .errors import OutputError

#: Prefix of every temporary name this module creates (short: a 250-character target name must still work).
TEMP_PREFIX = ".gs-"
#: Fallbacks when the file system does not say.
NAME_MAX = 255
PATH_MAX = 4096


@dataclass
class _Target:
    flag: str
    path: Path  # absolute, normalised (not resolved through links)
    is_dir: bool


def _absolute(path: Path) -> Path:
    return Path(os.path.abspath(os.fspath(path)))


def _resolved(path: Path) -> Path:
    try:
        return Path(os.path.realpath(os.fspath(path)))
    except (OSError, ValueError):
        return _absolute(path)


def _same(a: Path, b: Path) -> bool:
    """Same file: equal resolved paths, or (when both exist) the same inode (hard links, case-folding file systems)."""
    if _resolved(a) == _resolved(b):
        return True
    try:
        return os.path.samefile(a, b)
    except (OSError, ValueError):
        return False


def _limits(folder: Path) -> tuple[int, int]:
    try:
        return os.pathconf(folder, "PC_NAME_MAX"), os.pathconf(folder, "PC_PATH_MAX")
    except (OSError, ValueError, AttributeError):
        return NAME_MAX, PATH_MAX


def _existing_ancestor(path: Path) -> Path:
    p = path.parent
    while True:
        try:
            if p.exists() or p == p.parent:
                return p
        except OSError:
            pass
        p = p.parent


def _probe(folder: Path) -> Optional[str]:
    """None when a file can be created (and removed) in ``folder``, else the reason."""
    try:
        fd, name = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=".probe", dir=folder)
    except OSError as exc:
        return exc.strerror or str(exc)
    os.close(fd)
    try:
        os.unlink(name)
    except OSError:
        pass
    return None


def _input_paths(inputs: Any) -> list[tuple[str, Path]]:
    """``(label, path)`` for every path-like input (arrays, images and tensors are not files and are skipped)."""
    items: Sequence[tuple[str, Any]]
    if isinstance(inputs, Mapping):
        items = list(inputs.items())
    else:
        items = [("input", v) for v in inputs]
    out = []
    for label, value in items:
        values = value if isinstance(value, (list, tuple)) else [value]
        for v in values:
            if isinstance(v, (str, os.PathLike)) and os.fspath(v):
                out.append((label, Path(v)))
    return out


class Outputs:
    """The outputs of one command, checked against each other and against its ``inputs`` (a mapping label → path
    or list of paths; non-path values are ignored)."""

    def __init__(self, inputs: Any = ()) -> None:
        self._inputs = _input_paths(inputs)
        self._targets: list[_Target] = []

    def add_inputs(self, inputs: Any) -> None:
        """More inputs (e.g. the files a recipe names), checked by the next :meth:`check`."""
        self._inputs.extend(_input_paths(inputs))

    def file(self, flag: str, path: Any, *, suffixes: Sequence[str] = ()) -> Path:
        """Declare an output file; returns its absolute path. Per-path rules are checked now, the rest by
        :meth:`check`."""
        return self._add(flag, path, is_dir=False, suffixes=suffixes)

    def directory(self, flag: str, path: Any) -> Path:
        """Declare an output folder (created if missing); its files are written through :meth:`Transaction.folder`."""
        return self._add(flag, path, is_dir=True, suffixes=())

    def _add(self, flag: str, path: Any, *, is_dir: bool, suffixes: Sequence[str]) -> Path:
        text = os.fspath(path) if isinstance(path, (str, os.PathLike)) else None
        if not text:
            raise OutputError(f"{flag}: expected a {'folder' if is_dir else 'file'} name, got {path!r}")
        if "\0" in text:
            raise OutputError(f"{flag} {text!r}: a file name cannot contain a NUL character")
        if not is_dir and (text.endswith(os.sep) or text.endswith("/")):
            raise OutputError(f"{flag} {text}: names a folder; give a file name such as {text.rstrip('/')}/out"
                              f"{suffixes[0] if suffixes else ''}")
        p = _absolute(Path(text))
        if suffixes and p.suffix.lower() not in suffixes:
            raise OutputError(f"{flag} {text}: expected a {' or '.join(suffixes)} file name (this file is written as "
                              f"{suffixes[0].lstrip('.').upper()}); rename it, e.g. {Path(text).with_suffix(suffixes[0])}")
        self._check_path(flag, text, p, is_dir)
        self._targets.append(_Target(flag, p, is_dir))
        return p

    def _check_path(self, flag: str, text: str, p: Path, is_dir: bool) -> None:
        ancestor = _existing_ancestor(p)
        name_max, path_max = _limits(ancestor if ancestor.is_dir() else Path("/"))
        if len(os.fsencode(p)) >= path_max:
            raise OutputError(f"{flag} {text[:60]}…: the path is {len(os.fsencode(p))} bytes, longer than this system "
                              f"allows ({path_max}); choose a shorter one")
        for part in p.parts:
            if len(os.fsencode(part)) > name_max:
                raise OutputError(f"{flag}: the name {part[:40]}… is {len(os.fsencode(part))} bytes; this file system "
                                  f"allows {name_max} per name; choose a shorter name")
        try:
            exists, isdir = p.exists(), p.is_dir()
        except OSError as exc:
            raise OutputError(f"{flag} {text}: cannot be used ({exc.strerror or exc})") from None
        if isdir and not is_dir:
            raise OutputError(f"{flag} {text}: is a folder; give a file name inside it, e.g. {Path(text) / 'out'}"
                              f"{p.suffix or ''}")
        if exists and is_dir and not isdir:
            raise OutputError(f"{flag} {text}: is a file; give a folder name (it is created if missing)")
        if exists and not isdir and not os.access(p, os.W_OK) and os.geteuid() != 0:
            raise OutputError(f"{flag} {text}: the existing file is read-only; choose another name or make it writable")
        if not ancestor.is_dir():
            raise OutputError(f"{flag} {text}: {ancestor} is a file, not a folder; choose another folder")
        why = _probe(ancestor if not (is_dir and isdir) else p)
        if why is not None:
            where = p if (is_dir and isdir) else ancestor
            raise OutputError(f"{flag} {text}: cannot write in {where} ({why}); choose a folder you can write to")

    def check(self) -> None:
        """Outputs that are an input or each other: refused (a render must never overwrite its own sketch)."""
        for i, t in enumerate(self._targets):
            for label, src in self._inputs:
                if _same(t.path, src) or (t.is_dir and _resolved(src) == _resolved(t.path)):
                    raise OutputError(f"{t.flag} {t.path}: is the {label} ({src}); writing it would destroy the "
                                      "input; choose another name")
            for other in self._targets[:i]:
                if _same(t.path, other.path):
                    raise OutputError(f"{t.flag} and {other.flag} name the same file ({t.path}); give each output "
                                      "its own name")

    def writing(self) -> "Transaction":
        """A :class:`Transaction` over the declared outputs (use as a context manager)."""
        self.check()
        return Transaction(self)


@dataclass
class _Staged:
    final: Path
    temp: Path
    is_dir: bool
    flag: str


@dataclass
class Transaction:
    """Temporary names for the outputs, renamed onto the final names together on success (:meth:`commit`) and
    removed on failure (:meth:`abort`). Existing files are only replaced once every new file is complete."""

    outputs: Outputs
    _staged: list[_Staged] = field(default_factory=list)
    _made_dirs: list[Path] = field(default_factory=list)
    _stale: list[Path] = field(default_factory=list)

    def __enter__(self) -> "Transaction":
        return self

    def __exit__(self, kind, exc, tb) -> bool:
        if kind is None:
            self.commit()
            return False
        self.abort()
        if isinstance(exc, OSError) and not isinstance(exc, OutputError):
            raise OutputError(_os_message(exc, "nothing was written")) from None
        return False

    def _target(self, final: Path, is_dir: bool) -> _Target:
        final = _absolute(Path(final))
        for t in self.outputs._targets:
            if t.path == final and t.is_dir == is_dir:
                return t
        raise ValueError(f"{final} was not declared with Outputs.{'directory' if is_dir else 'file'}()")

    def _mkdirs(self, folder: Path) -> None:
        missing = []
        p = folder
        while not p.exists():
            missing.append(p)
            p = p.parent
        for d in reversed(missing):
            d.mkdir()
            self._made_dirs.append(d)

    def path(self, final: Path) -> Path:
        """A temporary file path next to ``final`` (same suffix) to write the output to."""
        t = self._target(final, False)
        self._mkdirs(t.path.parent)
        suffix = t.path.suffix if len(t.path.suffix) <= 10 else ""
        fd, name = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=suffix, dir=t.path.parent)
        os.close(fd)
        self._staged.append(_Staged(t.path, Path(name), False, t.flag))
        return Path(name)

    def folder(self, final: Path) -> Path:
        """A temporary folder whose files become ``final``'s files (``final`` is created if missing)."""
        t = self._target(final, True)
        if t.path.is_dir():
            temp = Path(tempfile.mkdtemp(prefix=TEMP_PREFIX, dir=t.path))
        else:
            self._mkdirs(t.path.parent)
            temp = Path(tempfile.mkdtemp(prefix=TEMP_PREFIX, dir=t.path.parent))
        self._staged.append(_Staged(t.path, temp, True, t.flag))
        return temp

    def remove(self, folder: Path, names) -> None:
        """Files of a declared output ``folder`` (plain names, e.g. an earlier run's part masks) to remove when the
        transaction commits, unless this transaction writes them; a failed commit puts them back."""
        t = self._target(folder, True)
        for n in names:
            n = str(n)
            if not n or Path(n).name != n or n in (".", ".."):
                raise ValueError(f"{n!r} is not a plain file name inside {t.path}")
            self._stale.append(t.path / n)

    def _moves(self) -> list[tuple[Path, Path, str]]:
        """``(temp, final, flag)`` for every file to rename, checked (against inputs, folders) before any rename."""
        moves: list[tuple[Path, Path, str]] = []
        for s in self._staged:
            if not s.is_dir:
                moves.append((s.temp, s.final, s.flag))
            elif s.final.is_dir():
                for root, _dirs, files in os.walk(s.temp):
                    for f in files:
                        src = Path(root) / f
                        moves.append((src, s.final / src.relative_to(s.temp), s.flag))
        for temp, final, flag in moves:
            if final.is_dir():
                raise OutputError(f"{flag}: {final} is a folder; it cannot be replaced by a file")
            for label, src in self.outputs._inputs:
                if _same(final, src):
                    raise OutputError(f"{flag}: writing {final} would replace the {label} ({src}); choose another "
                                      "folder")
        return moves

    def commit(self) -> None:
        """Rename every temporary onto its final name; on any failure undo the renames already made."""
        mode = 0o666 & ~_umask()
        done: list[tuple[Path, Optional[Path]]] = []  # (final, backup of what was there)
        try:
            moves = self._moves()
            for temp, final, _flag in moves:
                final.parent.mkdir(parents=True, exist_ok=True)
                os.chmod(temp, mode)
                backup = None
                if final.exists():
                    backup = final.with_name(f"{TEMP_PREFIX}{os.urandom(4).hex()}.bak")
                    os.replace(final, backup)
                try:
                    os.replace(temp, final)
                except BaseException:
                    if backup is not None:
                        os.replace(backup, final)
                    raise
                done.append((final, backup))
            written = {final for _temp, final, _flag in moves}
            for final in self._stale:  # kept aside like a replaced file: a later failure restores it
                if final not in written and final.is_file() and not final.is_symlink():
                    backup = final.with_name(f"{TEMP_PREFIX}{os.urandom(4).hex()}.bak")
                    os.replace(final, backup)
                    done.append((final, backup))
            for s in self._staged:
                if s.is_dir and not s.final.exists():
                    os.rename(s.temp, s.final)
                    os.chmod(s.final, 0o777 & ~_umask())
                    done.append((s.final, None))
        except BaseException as exc:
            for final, backup in reversed(done):
                try:
                    if backup is not None:
                        os.replace(backup, final)
                    elif final.is_dir():
                        shutil.rmtree(final)
                    else:
                        final.unlink()
                except OSError:
                    pass
            self.abort()
            if isinstance(exc, OSError) and not isinstance(exc, OutputError):
                raise OutputError(_os_message(exc, "nothing was written; existing files are unchanged")) from None
            raise
        for _final, backup in done:
            if backup is not None:
                try:
                    backup.unlink()
                except OSError:
                    pass
        for s in self._staged:
            if s.is_dir and s.temp.exists():
                shutil.rmtree(s.temp, ignore_errors=True)
        self._staged.clear()
        self._stale.clear()

    def abort(self) -> None:
        """Remove every temporary and every folder this transaction created; existing files are not touched."""
        for s in self._staged:
            try:
                if s.is_dir:
                    shutil.rmtree(s.temp, ignore_errors=True)
                elif s.temp.exists():
                    s.temp.unlink()
            except OSError:
                pass
        self._staged.clear()
        for d in reversed(self._made_dirs):
            try:
                d.rmdir()  # only if still empty
            except OSError:
                pass
        self._made_dirs.clear()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _os_message(exc: OSError, tail: str) -> str:
    where = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
    return f"{where}{exc.strerror or exc}; {tail}"


def iter_declared(outputs: Outputs) -> Iterator[tuple[str, Path]]:
    """``(flag, path)`` of every declared output (for messages and tests)."""
    for t in outputs._targets:
        yield t.flag, t.path
