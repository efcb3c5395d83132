"""Array types and sizes shared by the inverted index's build, vocabulary and search modules."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

Int32s = npt.NDArray[np.int32]
Int64s = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]
Float32s = npt.NDArray[np.float32]
UInts = npt.NDArray[np.unsignedinteger[Any]]
Ids = npt.NDArray[np.integer[Any]]

BLOCK = 128  # postings per block-max block
