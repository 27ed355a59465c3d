"""The videos an extraction reads: a folder, a list file, one video file or a list of paths; each video's id.

A video's id is its file name without the extension (``videos/v_QOlSCBRmfWY.mp4`` -> ``v_QOlSCBRmfWY``), the key of
its features in the output. Two files with the same id are an error before any work starts.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

from ..errors import ConfigError, DataFormatError
from ..files import read_text_file

__all__ = ["VIDEO_EXTENSIONS", "list_videos"]

VIDEO_EXTENSIONS = (
    ".3gp",
    ".avi",
    ".flv",
    ".m2ts",
    ".m4v",
    ".mkv",
    ".mov",
    ".mp4",
    ".mpeg",
    ".mpg",
    ".mts",
    ".ogv",
    ".ts",
    ".webm",
    ".wmv",
)


def _read_list_file(path: Path) -> list[Path]:
    """One path per line, relative to the list file's folder; blank lines and ``#`` comments are ignored."""
    lines = [line.strip() for line in read_text_file(path).splitlines()]
    return [(path.parent / line).expanduser() for line in lines if line and not line.startswith("#")]


def _paths_of(source: str | Path | Sequence[str | Path]) -> list[Path]:
    if not isinstance(source, str | Path):
        return [Path(item).expanduser() for item in source]
    path = Path(source).expanduser()
    if path.is_dir():
        return sorted(
            item
            for item in path.rglob("*")
            if item.is_file()
            and item.suffix.lower() in VIDEO_EXTENSIONS
            and not any(part.startswith(".") for part in item.relative_to(path).parts)  # ._x.mp4 of macOS, .git/...
        )
    if path.suffix.lower() in VIDEO_EXTENSIONS:
        return [path]
    if not path.is_file():
        raise ConfigError(f"videos {path}: no such folder or file")
    return _read_list_file(path)


def _describe(source) -> str:
    return str(source) if isinstance(source, str | Path) else f"(list of {len(source)} paths)"


def list_videos(source: str | Path | Sequence[str | Path]) -> dict[str, Path]:
    """``{video_id: path}`` of the videos to extract, in the order given (a folder: sorted, with subfolders).

    Args:
        source: a folder (every file with a video extension, `VIDEO_EXTENSIONS`, in it and its subfolders, hidden
            files and folders left out), a video file, a text file listing one video path per line (relative to the
            list's folder), or a list of paths. Listed paths are taken as they are: a missing or unreadable one is
            reported per video when extracted.

    Raises:
        ConfigError: the folder or list does not exist, or lists no video.
        DataFormatError: two videos have the same id (names both paths).

    Example:
        >>> list_videos(["clips/a.mp4", "more/b.webm"])
        {'a': PosixPath('clips/a.mp4'), 'b': PosixPath('more/b.webm')}
    """
    paths = _paths_of(source)
    if not paths:
        extensions = ", ".join(VIDEO_EXTENSIONS)
        raise ConfigError(f"videos {_describe(source)}: no video found (looked for files ending in {extensions})")
    by_id: dict[str, list[Path]] = defaultdict(list)
    for path in paths:
        by_id[path.stem].append(path)
    clashes = {video_id: found for video_id, found in by_id.items() if len(found) > 1}
    if clashes:
        video_id, found = next(iter(clashes.items()))
        raise DataFormatError(
            f"videos {_describe(source)}: {len(clashes)} video id(s) name several files, e.g. {video_id!r}: "
            f"{', '.join(map(str, found))}; a video's id is its file name without the extension, rename one"
        )
    return {video_id: found[0] for video_id, found in by_id.items()}
