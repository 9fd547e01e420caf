"""Build of the compiled core; metadata lives in pyproject.toml."""

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

KERNEL_SOURCES = ["src_c/elementwise.c", "src_c/prelu.c", "src_c/maxout.c"]


class BuildExt(build_ext):
    """Optimise for the baseline of the target architecture, never the build machine.

    No -march/-mcpu and no -ffast-math: a wheel must run on any CPU of its
    architecture, and NaN and signed-zero semantics are part of the contract.
    -fno-trapping-math (clang's and MSVC's default, not gcc's) changes no
    result: it lets gcc turn the kernels' selects into vector blends, since
    no kernel relies on floating-point traps or flags.
    """

    def build_extensions(self):
        if self.compiler.compiler_type == "msvc":
            flags = ["/O2", "/fp:precise"]
        else:
            flags = ["-O3", "-fno-trapping-math"]
        for ext in self.extensions:
            ext.extra_compile_args = flags + ext.extra_compile_args
        super().build_extensions()


extension = Extension(
    "rectkern._ext",
    sources=["rectkern/_ext.pyx", *KERNEL_SOURCES],
    include_dirs=[np.get_include(), "src_c"],
    depends=["src_c/*.h"],
    define_macros=[
        ("NPY_NO_DEPRECATED_API", "NPY_2_0_API_VERSION"),
        ("NPY_TARGET_VERSION", "NPY_2_0_API_VERSION"),
    ],
)

setup(
    ext_modules=cythonize([extension], compiler_directives={"language_level": 3}),
    cmdclass={"build_ext": BuildExt},
)
