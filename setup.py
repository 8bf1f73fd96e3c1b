"""The compiled ballot reader: optional, the pure-Python one stands in without a compiler."""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension("consult.tally._reader", ["consult/tally/_reader.pyx"], optional=True),
    ],
)
