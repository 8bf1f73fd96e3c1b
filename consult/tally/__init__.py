"""The tally engine: `consult.ballots/1` in, a ranked `consult.menu/1` out.

Pure: it imports nothing from Flask, the database or the rest of consult, so
it runs the same in a request, a test, a benchmark or the shell.
"""

from consult.tally.contract import (
    BALLOTS_FORMAT,
    CHANNELS,
    MENU_FORMAT,
    Ballots,
    Item,
    TallyInputError,
    parse_ballots,
)
from consult.tally.menu import METHODS, RULES, tally, tally_many
from consult.tally.schulze import schulze_order, schulze_winners, strongest_paths
from consult.tally.selection import EqualShares, select_equal_shares, select_greedy
from consult.tally.table import render_table

__all__ = [
    "BALLOTS_FORMAT",
    "Ballots",
    "CHANNELS",
    "EqualShares",
    "Item",
    "MENU_FORMAT",
    "METHODS",
    "RULES",
    "TallyInputError",
    "parse_ballots",
    "render_table",
    "schulze_order",
    "schulze_winners",
    "select_equal_shares",
    "select_greedy",
    "strongest_paths",
    "tally",
    "tally_many",
]
