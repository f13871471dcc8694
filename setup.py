"""Builds the C fast path of the batch engine; everything else is in pyproject.toml.

The extension is optional: where it cannot be compiled (no C compiler), Indicia installs without
it and reads every block of JSON lines on the msgspec path, with the same results, more slowly.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "indicia.matching._ecs_scan",
            ["src/indicia/matching/_ecs_scan.c"],
            optional=True,
            extra_compile_args=[
                "-O2",
                "-std=c11",
                "-Wall",
                "-Wextra",
                "-Wno-missing-field-initializers",
            ],
        )
    ]
)
