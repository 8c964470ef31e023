"""Finding the bags to extract under an input path.

A bag is a ROS 1 `.bag` file, a ROS 2 bag folder (it holds `metadata.yaml`), or
a bare ROS 2 storage file (`.db3`, `.mcap`) outside such a folder. The files
inside a ROS 2 bag folder belong to that bag and are never listed on their own.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

ROS1_SUFFIX = ".bag"
ROS2_STORAGE_SUFFIXES = (".db3", ".mcap")
ROS2_METADATA = "metadata.yaml"


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


def _folder_size(path: Path) -> int:
    return sum(child.stat().st_size for child in path.iterdir() if child.is_file())


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
    data_root: Path, input_path: PurePosixPath, exclude: PurePosixPath | None = None
) -> list[Bag]:
    """All bags at or below `data_root / input_path`, sorted by path.

    `exclude` (relative to the data root) is not searched: the output folder,
    when it lies inside the input. Raises InputError when the input does not
    exist or holds no bag.
    """
    absolute = data_root / input_path
    skipped = data_root / exclude if exclude is not None else None
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
        return [Bag(_relative(absolute, data_root), _folder_size(absolute), PurePosixPath())]

    bags = _walk(data_root, absolute, skipped)
    if not bags:
        raise InputError(
            f"no bags found under {absolute}: expected .bag files, ROS 2 bag folders "
            "(with metadata.yaml) or .db3/.mcap files"
        )
    bags.sort()
    _reject_output_clashes(bags)
    return bags


def _walk(data_root: Path, absolute: Path, skipped: Path | None) -> list[Bag]:
    """The bags below the folder `absolute`, in walk order; `skipped` (the output) is not
    searched."""
    bags: list[Bag] = []
    for folder, subfolders, files in os.walk(absolute, onerror=_unreadable):
        here = Path(folder)
        subfolders.sort()
        for sub in list(subfolders):
            candidate = here / sub
            if sub.startswith(".") or candidate == skipped or _is_ros2_folder(candidate):
                # A ROS 2 bag is one unit; hidden folders and the output are not input.
                subfolders.remove(sub)
            if not sub.startswith(".") and candidate != skipped and _is_ros2_folder(candidate):
                bags.append(
                    Bag(
                        _relative(candidate, data_root),
                        _folder_size(candidate),
                        _relative(here, absolute),
                    )
                )
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
