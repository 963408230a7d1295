"""The one compiled part: the forward path's inner loop (media/_fanout.c).

Everything else about the package is in pyproject.toml.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "media._fanout",
            sources=["media/_fanout.c"],
            extra_compile_args=["-O2", "-Wall", "-Wextra", "-Werror", "-Wno-unused-parameter"],
        )
    ]
)
