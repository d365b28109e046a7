"""Writing a merge commit into the object store without a `git commit-tree` process.

The merge queue makes one commit per landing on its serial path, where a process costs more
than the commit. A commit object is small and plain: the tree, the parents, the author and
committer lines, a blank line and the message, stored zlib-compressed under its SHA-1. This
module writes exactly the object `git commit-tree TREE -p P... -m MESSAGE` would, and only
where that is certain: `CommitWriter.for_repository` returns None (and the caller runs git)
when the repository or its settings ask git for anything beyond the plain case — SHA-256
objects, signed commits, a non-UTF-8 commit encoding, shared-repository permissions, fsync
settings, a second object format kept alongside, dates or an object directory from the
environment, a `.git` that is not a folder, or no identity git accepts.

The identity is asked once (`git var`) and kept, with the settings the caller read once
(`git config --list`): a writer belongs to one run.

Must not import: engine, lsp, cli; anything but the standard library and this package.
"""

from __future__ import annotations

import hashlib
import os
import time
import zlib
from dataclasses import dataclass
from pathlib import Path

from . import local_reads
from .command import run_git, setting_is_off

# Settings under which commit-tree does more than write the plain object (lower-case keys,
# as `git config --list` prints them).
_NEEDS_GIT = ("commit.gpgsign", "core.sharedrepository", "core.fsync", "core.fsyncobjectfiles")
_ENVIRONMENT_NEEDS_GIT = ("GIT_AUTHOR_DATE", "GIT_COMMITTER_DATE", "GIT_OBJECT_DIRECTORY")
_DEFAULT_LOOSE_COMPRESSION = 1  # git's own default for loose objects (Z_BEST_SPEED)


@dataclass(frozen=True, slots=True)
class CommitWriter:
    """Writes commit objects for one repository with the identity git gave at the start."""

    objects: Path
    author: str      # "Name <email>", without the date
    committer: str
    compression: int

    @classmethod
    def for_repository(cls, main_root: Path, settings: dict[str, str] | None) -> CommitWriter | None:
        """A writer for the repository at `main_root` with these settings (`read_config`; None:
        unknown), or None where git must write commits."""
        objects = local_reads.objects_folder(main_root)
        if not objects.is_dir() or any(os.environ.get(name) for name in _ENVIRONMENT_NEEDS_GIT):
            return None
        if settings is None or not _plain(settings):
            return None
        author, committer = _identity(main_root, "GIT_AUTHOR_IDENT"), _identity(main_root, "GIT_COMMITTER_IDENT")
        if author is None or committer is None:
            return None
        return cls(objects, author, committer, _compression(settings))

    def write(self, tree: str, parents: list[str], message: str, now: float | None = None) -> str:
        """Store the commit and return its id; `now` (unix time) is for tests."""
        body = commit_body(tree, parents, self.author, self.committer, message, now)
        data = b"commit %d\0" % len(body) + body
        object_id = hashlib.sha1(data).hexdigest()
        self._store(object_id, zlib.compress(data, self.compression))
        return object_id

    def _store(self, object_id: str, compressed: bytes) -> None:
        folder = self.objects / object_id[:2]
        final = folder / object_id[2:]
        try:
            os.utime(final)  # the same commit, made in the same second: fresh again, as git does,
            return           # so that a pruning of old unreachable objects spares it
        except FileNotFoundError:
            pass
        except OSError:
            return  # there, but not ours to touch
        folder.mkdir(exist_ok=True)
        temporary = folder / f"tmp_obj_{os.getpid()}_{time.monotonic_ns()}"
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o444)
        try:
            with os.fdopen(descriptor, "wb") as stored:
                stored.write(compressed)
            _publish(temporary, final)
        finally:
            temporary.unlink(missing_ok=True)


def commit_body(tree: str, parents: list[str], author: str, committer: str, message: str,
                now: float | None = None) -> bytes:
    """The commit object's content, as commit-tree writes it for `-m MESSAGE`."""
    stamp = _timestamp(time.time() if now is None else now)
    lines = [f"tree {tree}", *(f"parent {parent}" for parent in parents),
             f"author {author} {stamp}", f"committer {committer} {stamp}", ""]
    text = "\n".join(lines) + "\n" + message
    if message and not message.endswith("\n"):
        text += "\n"
    return text.encode("utf-8", "surrogateescape")  # as a str in argv would be


def _publish(temporary: Path, final: Path) -> None:
    """Give the finished file its name; a concurrent writer of the same object wins harmlessly."""
    try:
        os.link(temporary, final)
    except FileExistsError:
        pass
    except OSError:  # a file system without hard links
        os.replace(temporary, final)


def _timestamp(now: float) -> str:
    seconds = int(now)
    offset_minutes = time.localtime(seconds).tm_gmtoff // 60
    sign = "-" if offset_minutes < 0 else "+"
    hours, minutes = divmod(abs(offset_minutes), 60)
    return f"{seconds} {sign}{hours:02d}{minutes:02d}"


def _plain(settings: dict[str, str]) -> bool:
    if settings.get("extensions.objectformat", "sha1").lower() != "sha1":
        return False
    if "extensions.compatobjectformat" in settings:  # newer gits keep a second id per object
        return False
    if settings.get("i18n.commitencoding", "utf-8").lower() not in ("utf-8", "utf8"):
        return False
    return all(setting_is_off(settings, key) for key in _NEEDS_GIT)


def _compression(settings: dict[str, str]) -> int:
    for key in ("core.loosecompression", "core.compression"):
        try:
            level = int(settings[key])
        except (KeyError, ValueError):
            continue
        return level if -1 <= level <= 9 else _DEFAULT_LOOSE_COMPRESSION
    return _DEFAULT_LOOSE_COMPRESSION


def _identity(main_root: Path, variable: str) -> str | None:
    """`Name <email>` as git would record it now, or None when git refuses to name anyone."""
    out = run_git(["var", variable], main_root, check=False)
    name, _, _ = out.line.rpartition(" ")  # drop the timezone
    name, _, _ = name.rpartition(" ")       # and the time
    return name if out.code == 0 and name.endswith(">") else None
