"""Types of the compiled paired ties (consult/tally/_ties.pyx)."""

import numpy as np
from numpy.typing import NDArray

def co_approval_ties(
    approve: NDArray[np.bool_],
    offsets: NDArray[np.int64],
    approvals: NDArray[np.int64],
    z: NDArray[np.float64],
) -> NDArray[np.bool_]: ...
