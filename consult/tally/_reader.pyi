"""Types of the compiled ballot reader (consult/tally/_reader.pyx)."""

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

def read(
    raws: Sequence[list[Any]],
    index: dict[str, int],
    rank_depths: Sequence[int],
    channels: dict[str, int],
    unspecified: int,
) -> (
    tuple[
        list[str],
        NDArray[np.bool_],
        NDArray[np.intp],
        NDArray[np.intp],
        NDArray[np.intp],
        NDArray[np.intp],
        NDArray[np.intp],
        NDArray[np.bool_],
        NDArray[np.int8],
        NDArray[np.int32],
        tuple[str, ...],
        NDArray[np.int64],
    ]
    | None
): ...
