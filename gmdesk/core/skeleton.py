"""Skeletons as data: landmark names, bones, mirror pairs, joint-angle triplets, origin.

A skeleton is read from a TOML file (see ``resources/skeletons/infant24.toml``). Nothing in
the pipeline hard-codes the 24-landmark infant skeleton: any skeleton file with its own
landmarks, origin and angle triplets works through cleaning, features and snippets.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from gmdesk.errors import SkeletonError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class JointAngle:
    """An unsigned joint angle in degrees at ``points[1]`` between the segments to
    ``points[0]`` and ``points[2]``; ``mirror`` names the angle on the other side."""

    name: str
    points: tuple[str, str, str]
    mirror: str | None = None


@dataclass(frozen=True)
class Skeleton:
    """Landmarks, bones, mirror pairs, joint angles and normalisation origin of a body model.

    Parameters
    ----------
    name : str
        Short identifier stored in model bundles and case files.
    landmarks : tuple of str
        Landmark names; their order is the order of every array and feature column.
    edges : tuple of (str, str)
        Bones, drawn as the skeleton and checked by the geometry filter.
    mirror_pairs : tuple of (str, str)
        Left/right pairs swapped by flip augmentation.
    angles : tuple of JointAngle
        Joint-angle triplets.
    origin : str
        Landmark translated to (0, 0) in every frame by normalisation.
    description : str
        Free text.
    source : str
        Where the skeleton was read from.
    axis : tuple of (str, str), optional
        Body axis for camera-invariant normalisation, from the first landmark towards the second
        (``pelvis`` → ``sternum``: towards the head). Default: from the midline landmark farthest from
        the origin towards the origin.
    size_segments : tuple of (str, str), optional
        Segments whose median length over a recording is the body's size for normalisation (trunk
        length, shoulder and hip width). Default: the median bone length.
    limbs : tuple of (str, str), optional
        The limbs whose fidgety movements ``fidgety-findings`` reads, each as the landmark before its end and
        its end (``left_wrist``, ``left_hand``). Default: found from the bones
        (:func:`gmdesk.pipeline.fidgety.limb_groups`), which fits ``infant24``; a skeleton whose arms are
        fewer bones from the origin (``nose`` → shoulder → elbow → wrist) names them here. ``gmdesk skeleton``
        prints the limbs either way.
    """

    name: str
    landmarks: tuple[str, ...]
    edges: tuple[tuple[str, str], ...]
    mirror_pairs: tuple[tuple[str, str], ...]
    angles: tuple[JointAngle, ...]
    origin: str
    description: str = ""
    source: str = ""
    axis: tuple[str, str] | None = None
    size_segments: tuple[tuple[str, str], ...] = ()
    limbs: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        where = f"skeleton {self.source or self.name!r}"
        self._check_landmarks(where)
        self._check_names_known(where)
        self._check_edges_and_pairs(where)
        self._check_angles(where)

    # -- validation -----------------------------------------------------------------------
    def _check_landmarks(self, where: str) -> None:
        """At least two landmarks, each name once."""
        seen: set[str] = set()
        dups = sorted({n for n in self.landmarks if n in seen or seen.add(n)})
        if dups:
            raise SkeletonError(f"{where}: duplicate landmarks {dups}")
        if len(self.landmarks) < 2:
            raise SkeletonError(f"{where}: needs at least two landmarks")

    def _check_names_known(self, where: str) -> None:
        """Origin, axis, size segments, bones, mirror pairs and angles name only the skeleton's landmarks."""
        known = set(self.landmarks)

        def check(names: list[str], what: str) -> None:
            unknown = sorted({n for n in names if n not in known})
            if unknown:
                raise SkeletonError(f"{where}: {what} name unknown landmarks {unknown}")

        check([self.origin], "origin")
        check(list(self.axis or ()), "normalisation.axis")
        check([n for e in self.size_segments for n in e], "normalisation.size")
        if self.axis is not None and self.axis[0] == self.axis[1]:
            raise SkeletonError(f"{where}: normalisation.axis needs two different landmarks")
        check([n for e in self.edges for n in e], "edges")
        check([n for p in self.mirror_pairs for n in p], "mirror_pairs")
        check([n for a in self.angles for n in a.points], "angles")
        check([n for limb in self.limbs for n in limb], "limbs")

    def _check_edges_and_pairs(self, where: str) -> None:
        """No bone or mirror pair joins a landmark to itself; a landmark is in one mirror pair at most."""
        for a, b in self.edges:
            if a == b:
                raise SkeletonError(f"{where}: edge [{a!r}, {b!r}] joins a landmark to itself")
        paired = [n for p in self.mirror_pairs for n in p]
        if len(paired) != len(set(paired)):
            raise SkeletonError(f"{where}: a landmark appears in more than one mirror pair")
        for a, b in self.mirror_pairs:
            if a == b:
                raise SkeletonError(f"{where}: mirror pair [{a!r}, {b!r}] pairs a landmark with itself")

    def _check_angles(self, where: str) -> None:
        """Angle names are unique, each angle has three different points, and mirrors name each other."""
        by_name = {a.name: a for a in self.angles}
        if len(by_name) != len(self.angles):
            raise SkeletonError(f"{where}: duplicate angle names")
        for a in self.angles:
            if len(set(a.points)) != 3:
                raise SkeletonError(f"{where}: angle {a.name!r} needs three different points")
            if a.mirror is not None:
                other = by_name.get(a.mirror)
                if other is None:
                    raise SkeletonError(f"{where}: angle {a.name!r} mirrors unknown angle {a.mirror!r}")
                if other.mirror not in (None, a.name) or (other.mirror is None and a.mirror != a.name):
                    raise SkeletonError(
                        f"{where}: angles {a.name!r} and {a.mirror!r} do not mirror each other"
                    )

    # -- derived index arrays -------------------------------------------------------------
    @property
    def n_landmarks(self) -> int:
        """Number of landmarks."""
        return len(self.landmarks)

    @cached_property
    def _positions(self) -> dict[str, int]:
        return {n: i for i, n in enumerate(self.landmarks)}

    def index(self, name: str) -> int:
        """Column index of landmark ``name``."""
        try:
            return self._positions[name]
        except KeyError:
            raise SkeletonError(f"skeleton {self.name!r} has no landmark {name!r}") from None

    @cached_property
    def edge_index(self) -> np.ndarray:
        """Bones as an ``(n_edges, 2)`` int array of landmark indices."""
        return np.array([[self.index(a), self.index(b)] for a, b in self.edges], dtype=int).reshape(-1, 2)

    @cached_property
    def mirror_permutation(self) -> np.ndarray:
        """Landmark permutation that swaps every left/right pair (an involution)."""
        perm = np.arange(self.n_landmarks)
        for a, b in self.mirror_pairs:
            ia, ib = self.index(a), self.index(b)
            perm[ia], perm[ib] = ib, ia
        return perm

    @cached_property
    def angle_index(self) -> np.ndarray:
        """Angle triplets as an ``(n_angles, 3)`` int array of landmark indices."""
        return np.array([[self.index(p) for p in a.points] for a in self.angles], dtype=int).reshape(-1, 3)

    @cached_property
    def angle_mirror_permutation(self) -> np.ndarray:
        """Angle permutation that swaps every left/right angle pair."""
        names = {a.name: i for i, a in enumerate(self.angles)}
        return np.array([names[a.mirror] if a.mirror else i for i, a in enumerate(self.angles)], dtype=int)

    @cached_property
    def depth(self) -> np.ndarray:
        """Number of bones between each landmark and the origin (landmarks not connected to
        it get one more than the deepest connected one)."""
        n = self.n_landmarks
        depth = np.full(n, -1)
        depth[self.origin_index] = 0
        frontier = [self.origin_index]
        adj: list[list[int]] = [[] for _ in range(n)]
        for a, b in self.edge_index:
            adj[a].append(b)
            adj[b].append(a)
        while frontier:
            nxt = []
            for i in frontier:
                for j in adj[i]:
                    if depth[j] < 0:
                        depth[j] = depth[i] + 1
                        nxt.append(j)
            frontier = nxt
        depth[depth < 0] = depth.max() + 1
        return depth

    @property
    def origin_index(self) -> int:
        """Index of the normalisation origin."""
        return self.index(self.origin)

    def to_dict(self) -> dict:
        """Plain-data form (as stored in model bundles and case files)."""
        return {
            "name": self.name,
            "description": self.description,
            "origin": self.origin,
            "landmarks": list(self.landmarks),
            "edges": [list(e) for e in self.edges],
            "mirror_pairs": [list(p) for p in self.mirror_pairs],
            "angles": [{"name": a.name, "points": list(a.points), "mirror": a.mirror} for a in self.angles],
        } | ({"normalisation": {"axis": list(self.axis) if self.axis else None, "size": [list(e) for e in self.size_segments]}}
             if self.axis or self.size_segments else {}) | ({"limbs": [list(x) for x in self.limbs]} if self.limbs else {})

    @property
    def fingerprint(self) -> str:
        """Short hash of everything that changes the paper's features (names, order, angles, origin).
        The normalisation table and the limbs are not part of it: a model using them stores them in its own
        manifest."""
        d = self.to_dict()
        d.pop("description")
        d.pop("name")
        d.pop("normalisation", None)
        d.pop("limbs", None)
        blob = json.dumps(d, sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:16]

    @classmethod
    def from_dict(cls, data: dict, source: str = "") -> Skeleton:
        """Build and validate a skeleton from plain data (a parsed TOML or JSON file).

        Every key is type-checked: ``landmarks`` a list of names, ``edges``, ``mirror_pairs`` and ``limbs``
        lists of two names, ``angles`` a list of tables with ``name``, three ``points`` and an optional
        ``mirror``, ``origin`` a name. Names are non-empty strings of at most 200 characters.
        """
        where = f"skeleton {source or '?'!r}"
        if not isinstance(data, dict):
            raise SkeletonError(f"{where}: not a table of keys")
        where = f"skeleton {source or str(data.get('name', '?'))!r}"
        for key in ("landmarks", "origin"):
            if key not in data:
                raise SkeletonError(f"{where}: missing key {key!r}")
        landmarks = _names(data["landmarks"], "landmarks", where)
        edges = data.get("edges", [])
        pairs = data.get("mirror_pairs", [])
        raw_angles = data.get("angles", [])
        limbs = data.get("limbs", [])
        for key, v in (("edges", edges), ("mirror_pairs", pairs), ("angles", raw_angles), ("limbs", limbs)):
            if not isinstance(v, list):
                raise SkeletonError(f"{where}: {key} must be a list")
        angles = [_angle(a, where) for a in raw_angles]
        for key in ("name", "description"):
            if key in data and not isinstance(data[key], str):
                raise SkeletonError(f"{where}: {key} must be text")
        axis, size = _normalisation(data, where)
        return cls(
            name=str(data.get("name", Path(source).stem if source else "skeleton")),
            landmarks=landmarks,
            edges=tuple(_names(e, "each edge", where, 2) for e in edges),  # type: ignore[misc]
            mirror_pairs=tuple(_names(e, "each mirror pair", where, 2) for e in pairs),  # type: ignore[misc]
            angles=tuple(angles),
            origin=_name(data["origin"], "origin", where),
            description=str(data.get("description", "")),
            source=source,
            axis=axis,  # type: ignore[arg-type]
            size_segments=tuple(_names(e, "each normalisation.size segment", where, 2) for e in size),  # type: ignore[misc]
            limbs=tuple(_names(e, "each limb", where, 2) for e in limbs),  # type: ignore[misc]
        )


# -- reading a skeleton from plain data -------------------------------------------------------

def _name(v: object, what: str, where: str) -> str:
    """``v`` as a landmark or angle name: text of 1-200 characters."""
    if not isinstance(v, str) or not v.strip() or len(v) > 200:
        raise SkeletonError(f"{where}: {what} must be a name (text of 1-200 characters), got {str(v)[:60]!r}")
    return v


def _names(v: object, what: str, where: str, n: int | None = None) -> tuple[str, ...]:
    """``v`` as a list of names (of exactly ``n`` where given)."""
    if not isinstance(v, list) or (n is not None and len(v) != n):
        raise SkeletonError(f"{where}: {what} must be a list of {n if n else ''} names".replace("  ", " "))
    return tuple(_name(x, what, where) for x in v)


def _angle(a: object, where: str) -> JointAngle:
    """One entry of ``angles``: a table with a name, three points and an optional mirror."""
    if not isinstance(a, dict) or "name" not in a or "points" not in a:
        raise SkeletonError(f"{where}: each angle needs a name and three points")
    if len(a["points"]) != 3 if isinstance(a["points"], list) else True:
        raise SkeletonError(f"{where}: angle {str(a['name'])[:60]!r} must list exactly three points")
    mirror = a.get("mirror")
    return JointAngle(_name(a["name"], "an angle's name", where),
                      _names(a["points"], "an angle's points", where, 3),  # type: ignore[arg-type]
                      None if mirror is None else _name(mirror, "an angle's mirror", where))


def _normalisation(data: dict, where: str) -> tuple[tuple[str, ...] | None, list]:
    """The ``normalisation`` table's body axis (None when not given) and its list of size segments."""
    norm = data.get("normalisation") or {}
    if not isinstance(norm, dict):
        raise SkeletonError(f"{where}: normalisation must be a table")
    axis = _names(norm["axis"], "normalisation.axis", where, 2) if norm.get("axis") is not None else None
    size = norm.get("size", [])
    if not isinstance(size, list):
        raise SkeletonError(f"{where}: normalisation.size must be a list")
    return axis, size
