"""Finding the bags to extract under an input path.

A bag is a ROS 1 `.bag` file, a ROS 2 bag folder (it holds `metadata.yaml`), or
a bare ROS 2 storage file (`.db3`, `.mcap`) outside such a folder. The files
inside a ROS 2 bag folder belong to that bag and are never listed on their own.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from orchestrator.source import ROS2_METADATA, Incomplete, ros2_files

ROS1_SUFFIX = ".bag"
ROS2_STORAGE_SUFFIXES = (".db3", ".mcap")


class InputError(ValueError):
    """The input path names nothing we can extract (message says why and what to do)."""


@dataclass(frozen=True, order=True)
class Bag:
    """One bag, located relative to the data root so every executor can place it."""

    path: PurePosixPath  # relative to the data root, e.g. raw/2026/run-7/drive.bag
    size_bytes: int
    # Where its output goes below the output path: the bag's folder relative to
    # the input, so two `drive.bag` in different folders never share an output.
    output_subdir: PurePosixPath
    # A ROS 2 folder not whole yet (metadata.yaml lists a file that has not arrived): why.
    # It gets no task and is reported as waiting, not failed (docs/orchestrator.md).
    waiting: str = ""

    @property
    def name(self) -> str:
        """The output folder name the processor uses (contracts §2)."""
        if self.path.suffix in (ROS1_SUFFIX, *ROS2_STORAGE_SUFFIXES):
            return self.path.stem
        return self.path.name

    @property
    def output_key(self) -> PurePosixPath:
        """Where this bag's output lands below the output path."""
        return self.output_subdir / self.name


def _is_ros2_folder(path: Path) -> bool:
    return (path / ROS2_METADATA).is_file()


def _ros2_bag(data_root: Path, folder: Path, output_subdir: PurePosixPath) -> Bag:
    """A ROS 2 folder: its size is that of the files its metadata lists, when all are there."""
    relative = _relative(folder, data_root)
    try:
        files = ros2_files(folder)
    except Incomplete as why:
        return Bag(relative, 0, output_subdir, waiting=str(why))
    return Bag(relative, sum(file.stat().st_size for file in files), output_subdir)


def _is_bag_file(path: Path) -> bool:
    return path.suffix in (ROS1_SUFFIX, *ROS2_STORAGE_SUFFIXES) and path.is_file()


def _unreadable(error: OSError) -> None:
    """os.walk skips folders it cannot list; a skipped folder would drop its bags silently."""
    raise InputError(
        f"cannot read {error.filename}: {error.strerror} (running as uid {os.geteuid()}). NFS "
        "applies POSIX modes, and folders uploaded through the storage API get none for other "
        "users: on Batch the orchestrator must run as the pool's admin user, which the Custom "
        "activity's autoUserSpecification asks ADF for (README 'Verified only on Azure'). Until "
        "then, make the folder readable from a root shell (chmod -R o+rX) and run again"
    ) from error


def _relative(path: Path, root: Path) -> PurePosixPath:
    return PurePosixPath(path.relative_to(root).as_posix())


def find_bags(
    data_root: Path,
    input_path: PurePosixPath,
    exclude: PurePosixPath | Sequence[PurePosixPath] | None = None,
    only: PurePosixPath | None = None,
) -> list[Bag]:
    """All bags at or below `data_root / input_path`, sorted by path.

    `exclude` (relative to the data root) is not searched: the output folder, when it lies
    inside the input, and the quarantine folder. `only` narrows the search to the one bag at
    that path (an event's blob), keeping its output where a sweep of the input puts it. Raises
    InputError when the input does not exist or holds no bag.
    """
    excluded = (
        [] if exclude is None else [exclude] if isinstance(exclude, PurePosixPath) else exclude
    )
    if only is not None:
        if any(folder == only or folder in only.parents for folder in excluded):
            return []  # an event in the quarantine (or output) folder: not input
        return [_only(data_root, input_path, only)]
    absolute = data_root / input_path
    skipped = {data_root / folder for folder in excluded}
    if not absolute.exists():
        raise InputError(
            f"input {absolute} does not exist: pass a bag file, a ROS 2 bag folder or a "
            "folder that contains bags"
        )
    if absolute.is_file():
        if not _is_bag_file(absolute):
            raise InputError(
                f"input {absolute} is not a bag: expected a .bag, .db3 or .mcap file "
                "or a folder of bags"
            )
        return [Bag(_relative(absolute, data_root), absolute.stat().st_size, PurePosixPath())]
    if _is_ros2_folder(absolute):
        return [_ros2_bag(data_root, absolute, PurePosixPath())]

    bags = _walk(data_root, absolute, skipped)
    if not bags:
        raise InputError(
            f"no bags found under {absolute}: expected .bag files, ROS 2 bag folders "
            "(with metadata.yaml) or .db3/.mcap files"
        )
    bags.sort()
    _reject_output_clashes(bags)
    return bags


def _only(data_root: Path, input_path: PurePosixPath, only: PurePosixPath) -> Bag:
    """The bag an event names: a bag file, a ROS 2 folder, or a file inside one (its
    metadata.yaml or a storage file), which stands for the folder."""
    if only != input_path and input_path not in only.parents:
        raise InputError(
            f"bag {only} is not inside the input {input_path}: pass a bag below --input"
        )
    candidate = data_root / only
    folder = candidate if candidate.is_dir() else candidate.parent
    if _is_ros2_folder(folder) and (data_root / input_path) in (folder, *folder.parents):
        return _ros2_bag(data_root, folder, _subdir(folder.parent, data_root / input_path))
    if not candidate.exists():
        raise InputError(
            f"bag {only} does not exist (any more): it was moved or deleted after the event"
        )
    if not _is_bag_file(candidate):
        raise InputError(
            f"{only} is not a bag: expected a .bag, .db3 or .mcap file, a ROS 2 bag folder "
            f"or its {ROS2_METADATA}"
        )
    return Bag(
        _relative(candidate, data_root),
        candidate.stat().st_size,
        _subdir(candidate.parent, data_root / input_path),
    )


def _subdir(folder: Path, input_folder: Path) -> PurePosixPath:
    """Where a sweep of the input would put the bags of `folder`: its path below the input."""
    if folder == input_folder or input_folder not in folder.parents:
        return PurePosixPath()
    return _relative(folder, input_folder)


def _walk(data_root: Path, absolute: Path, skipped: set[Path]) -> list[Bag]:
    """The bags below the folder `absolute`, in walk order; `skipped` (the output) is not
    searched."""
    bags: list[Bag] = []
    for folder, subfolders, files in os.walk(absolute, onerror=_unreadable):
        here = Path(folder)
        subfolders.sort()
        for sub in list(subfolders):
            candidate = here / sub
            if sub.startswith(".") or candidate in skipped or _is_ros2_folder(candidate):
                # A ROS 2 bag is one unit; hidden folders and the output are not input.
                subfolders.remove(sub)
            if not sub.startswith(".") and candidate not in skipped and _is_ros2_folder(candidate):
                bags.append(_ros2_bag(data_root, candidate, _relative(here, absolute)))
        for name in sorted(files):
            candidate = here / name
            if not name.startswith(".") and _is_bag_file(candidate):
                bags.append(
                    Bag(
                        _relative(candidate, data_root),
                        candidate.stat().st_size,
                        _relative(here, absolute),
                    )
                )
    return bags


def _reject_output_clashes(bags: list[Bag]) -> None:
    """Two bags whose output folders would coincide (e.g. `a.bag` and `a.mcap`)."""
    seen: dict[PurePosixPath, Bag] = {}
    for bag in bags:
        other = seen.get(bag.output_key)
        if other is not None:
            raise InputError(
                f"{other.path} and {bag.path} would both write {bag.output_key}/: "
                "rename one of them or extract them separately"
            )
        seen[bag.output_key] = bag
