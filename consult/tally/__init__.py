"""The tally engine: `consult.ballots/1` in, a ranked `consult.menu/1` out.

Pure: it imports nothing from Flask, the database or the rest of consult, so
it runs the same in a request, a test, a benchmark or the shell.

One compound: `tally`. Many at once (a district, a city): `tally_many` gives the
dicts; `tally_documents` (from documents) and `tally_arrays` (from integer
arrays, as a database holds the ballots: `BallotArrays`) give every figure of
every compound as arrays (`MenuColumns`, `CityMenus`), each compound's dict
built when asked for and equal to `tally`'s.
"""

from consult.tally.arrays import BallotArrays, arrays_from_documents, read_arrays
from consult.tally.columnar import CityMenus, MenuColumns
from consult.tally.contract import (
    BALLOTS_FORMAT,
    CHANNELS,
    MENU_FORMAT,
    Ballots,
    Header,
    Item,
    MeetingVote,
    TallyInputError,
    parse_ballots,
)
from consult.tally.menu import (
    METHODS,
    RULES,
    collector_paused,
    tally,
    tally_arrays,
    tally_documents,
    tally_many,
)
from consult.tally.schulze import schulze_order, schulze_winners, strongest_paths
from consult.tally.selection import EqualShares, select_equal_shares, select_greedy
from consult.tally.table import render_table

__all__ = [
    "BALLOTS_FORMAT",
    "BallotArrays",
    "Ballots",
    "CHANNELS",
    "CityMenus",
    "EqualShares",
    "Header",
    "Item",
    "MENU_FORMAT",
    "METHODS",
    "MeetingVote",
    "MenuColumns",
    "RULES",
    "TallyInputError",
    "arrays_from_documents",
    "collector_paused",
    "parse_ballots",
    "read_arrays",
    "render_table",
    "schulze_order",
    "schulze_winners",
    "select_equal_shares",
    "select_greedy",
    "strongest_paths",
    "tally",
    "tally_arrays",
    "tally_documents",
    "tally_many",
]
