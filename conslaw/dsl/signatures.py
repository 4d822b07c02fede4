"""Canonical keys and value signatures of whole batches of candidate formulas.

Keys decide associative duplicates; signatures decide constant, observationally equal and
affinely equal formulas. All are computed on arrays of candidates at once.

- **Canonical keys** are 128-bit hashes (two uint64 lanes). A flattened sum or product is a
  multiset of (sign or exponent, child key) atoms; its key hashes the lane-wise sum of the atoms'
  hashes, so combining two children adds their sums (no sorting, no Python tuples). A parameter
  atom has the same hash whatever its sign or exponent (``c``, ``-c`` and ``1/c`` are one
  parameter). Two different keys collide with probability about 2**-128 per pair.
- **Value signatures**: the values rounded relative to their largest finite magnitude, the
  finiteness mask, the rounded scale and the unit id. **Root signatures**: the values up to
  ``a*g + b`` for each parameter value. Both are kept as 128-bit digests of those bytes.
"""
from __future__ import annotations

import functools
from typing import Union

import numpy as np

_SALTS = np.random.default_rng(20211206).integers(0, 2**63, size=(64, 2), dtype=np.uint64)
SALT_ATOM = {1: 0, -1: 1}
SALT_FAMILY = {"+-": 2, "*/": 3}
SALT_INPUT, SALT_PARAMETER, SALT_OPERATOR = 4, 5, 6  # operator i uses SALT_OPERATOR + i


def _mix(z: np.ndarray) -> np.ndarray:
    """The splitmix64 finalizer, elementwise on uint64 (wrapping arithmetic)."""
    z = z ^ (z >> np.uint64(30))
    z = z * np.uint64(0xBF58476D1CE4E5B9)
    z = z ^ (z >> np.uint64(27))
    z = z * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def combine(lanes: np.ndarray, salt: Union[int, np.ndarray]) -> np.ndarray:
    """A salted 128-bit hash of each row of ``lanes`` (shape (n, 2), uint64)."""
    first, second = lanes[:, 0], lanes[:, 1]
    salts = _SALTS[salt]  # one salt, or one per row
    salt0, salt1 = salts[..., 0], salts[..., 1]
    return np.stack([_mix(first ^ _mix(second + salt0)), _mix(second ^ _mix(first + salt1))],
                    axis=1)


def leaf_key(salt: int, index: int = 0) -> np.ndarray:
    """The key of a leaf: an input column (``SALT_INPUT``, its index) or the parameter."""
    return combine(np.array([[index, 0]], dtype=np.uint64), salt)


def key_bytes(keys: np.ndarray) -> list:
    """Each 128-bit key as a 16-byte ``bytes`` object (for set membership)."""
    return np.ascontiguousarray(keys).view("V16").ravel().tolist()


def first_new(items: list, seen: set) -> np.ndarray:
    """Which items are seen for the first time (in order), adding them to ``seen``."""
    return np.array([item not in seen and not seen.add(item) for item in items], dtype=bool)


def constant_rows(values: np.ndarray) -> np.ndarray:
    """Rows constant over the probe points for each of the two parameter values."""
    halves = values.reshape(len(values), 2, values.shape[1] // 2)
    finite = np.isfinite(halves)
    high = np.where(finite, halves, -np.inf).max(axis=2)
    low = np.where(finite, halves, np.inf).min(axis=2)
    magnitude = np.where(finite, np.abs(halves), 0.0).max(axis=2)
    varies = finite.any(axis=2) & (high - low > 1e-9 * np.maximum(1.0, magnitude))
    return ~varies.any(axis=1)


@functools.lru_cache(maxsize=8)
def _word_salts(words: int) -> np.ndarray:
    """Per word position: a salt and an odd weight."""
    salts = np.random.default_rng(words).integers(0, 2**63, size=(2, words), dtype=np.uint64)
    return salts | np.array([[0], [1]], dtype=np.uint64)


def _words(part: np.ndarray) -> np.ndarray:
    """The rows of ``part`` as 64-bit words (their bytes, zero-padded to a multiple of 8)."""
    raw = np.ascontiguousarray(part.reshape(len(part), -1)).view(np.uint8)
    if raw.shape[1] % 8:
        raw = np.hstack([raw, np.zeros((len(raw), -raw.shape[1] % 8), np.uint8)])
    return raw.view(np.uint64)


def _row_digests(*parts: np.ndarray) -> list:
    """A 128-bit digest (16 ``bytes``) of each row of ``parts`` taken together: two sums (plain
    and weighted) of the salted, mixed 64-bit words. Rows differing in a single word never
    collide, others with probability about 2**-128."""
    if not len(parts[0]):
        return []
    words = [_words(part) for part in parts]
    salts, weights = _word_salts(sum(w.shape[1] for w in words))
    lanes = np.zeros((len(words[0]), 2), dtype=np.uint64)
    offset = 0
    for block in words:
        positions = slice(offset, offset + block.shape[1])
        mixed = _mix(block ^ salts[positions])
        lanes[:, 0] += mixed.sum(axis=1, dtype=np.uint64)
        lanes[:, 1] += (mixed * weights[positions]).sum(axis=1, dtype=np.uint64)
        offset += block.shape[1]
    return key_bytes(_mix(lanes))


def round_scales(scale: np.ndarray) -> np.ndarray:
    """``round(s, 9)`` of each positive scale, exactly as Python rounds: numpy's
    ``rint(s * 1e9) / 1e9`` is the same number unless ``s * 1e9`` is large or near a tie, and
    those few are rounded by Python."""
    with np.errstate(all="ignore"):  # huge scales overflow here; they are rounded by Python
        rounded = np.round(scale, 9)
        shifted = scale * 1e9
        tie = np.abs(shifted - np.floor(shifted) - 0.5) < 0.05
    doubtful = np.flatnonzero((scale >= 1e5) | tie)
    rounded[doubtful] = [round(s, 9) for s in scale[doubtful].tolist()]
    return rounded


def value_signatures(values: np.ndarray, units: np.ndarray) -> list:
    """Per row: unit id, values rounded relative to the largest finite magnitude, finiteness."""
    finite = np.isfinite(values)
    scale = np.where(finite, np.abs(values), 0.0).max(axis=1)
    scale = np.where(finite.any(axis=1) & (scale > 0), scale, 1.0)
    with np.errstate(all="ignore"):
        rounded = np.where(finite, np.round(values / scale[:, None], 9), 0.0)
    return _row_digests(units.astype(np.int64), round_scales(scale), rounded, finite)


def _finite_means(rows: np.ndarray, finite: np.ndarray) -> np.ndarray:
    """The mean of each row's finite entries, summed in the order numpy sums that row's finite
    entries alone (rows with the same number of finite entries are compacted and reduced
    together), so that it is bitwise the same number."""
    counts = finite.sum(axis=1)
    means = np.zeros(len(rows))
    for count in np.unique(counts[counts > 0]):
        chosen = np.flatnonzero(counts == count)
        if count == rows.shape[1]:
            means[chosen] = rows[chosen].mean(axis=1)
            continue
        order = np.argsort(~finite[chosen], axis=1, kind="stable")[:, :count]
        means[chosen] = np.take_along_axis(rows[chosen], order, axis=1).mean(axis=1)
    return means


def root_signatures(values: np.ndarray) -> list:
    """Per row, the values up to ``a*g + b`` for each parameter value (a constant offset or scale
    never changes what is conserved): the finite entries centred, scaled to a peak of 1, the sign
    fixed by the first clearly non-zero entry, rounded; with the finiteness mask."""
    n, width = values.shape
    finite = np.isfinite(values)
    halves, half_finite = values.reshape(2 * n, width // 2), finite.reshape(2 * n, width // 2)
    with np.errstate(all="ignore"):
        means = _finite_means(halves, half_finite)
        centred = np.where(half_finite, halves - means[:, None], 0.0)
    peak = np.abs(centred).max(axis=1, keepdims=True)
    centred = np.where(peak > 0, centred / np.where(peak > 0, peak, 1.0), centred)
    first = np.argmax(np.abs(centred) > 1e-6, axis=1)[:, None]
    rounded = np.round(centred * np.sign(np.take_along_axis(centred, first, axis=1)), 8)
    return _row_digests(finite, rounded.reshape(n, width))
