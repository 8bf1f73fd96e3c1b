"""The tally's compiled parts: optional, their pure-Python twins stand in without a compiler."""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension("consult.tally._reader", ["consult/tally/_reader.pyx"], optional=True),
        Extension("consult.tally._ties", ["consult/tally/_ties.pyx"], optional=True),
    ],
)
