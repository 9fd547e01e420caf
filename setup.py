"""Build of the compiled core; metadata lives in pyproject.toml.

The kernels (src_c/kernels.c) are compiled once per instruction-set level
of the target architecture, each with that level's flags, and linked into
one extension that picks a level at import (src_c/cpu.c).
"""

import os
import platform
import json
import sys
import sysconfig

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

# No -march/-mcpu and no fast-math options: a wheel must run on any CPU of its
# architecture, and NaN and signed-zero semantics are part of the contract.
# -fno-trapping-math (clang's and MSVC's default, not gcc's) changes no
# result: it lets gcc turn the kernels' selects into vector blends.
# -ffp-contract=off keeps a * b + c two roundings at every level, so that
# all levels give the same bits.  -fno-wrapv undoes the -fwrapv that Python's
# own CFLAGS bring, which stops gcc vectorising index arithmetic; the kernels
# have no signed overflow.
UNIX_FLAGS = ["-O3", "-fno-wrapv", "-fno-trapping-math", "-ffp-contract=off"]
MSVC_FLAGS = ["/O2", "/fp:precise"]

# (level number, name, gcc/clang flags, MSVC flags), x86-64 only
X86_64_LEVELS = [
    (1, "avx2", ["-mavx2", "-mfma", "-mf16c"], ["/arch:AVX2"]),
    (2, "avx512", ["-mavx512f", "-mavx512dq", "-mavx512bw", "-mavx512vl",
                   "-mavx2", "-mfma", "-mf16c", "-mprefer-vector-width=512"],
     ["/arch:AVX512"]),
]


def target_is_x86_64():
    """Whether the extension is built for x86-64 (not the build machine's CPU)."""
    archflags = os.environ.get("ARCHFLAGS", "").split()   # macOS cross builds
    if "-arch" in archflags:
        return archflags[archflags.index("-arch") + 1] == "x86_64"
    host = sysconfig.get_platform().lower()
    if host.endswith(("x86_64", "amd64")):
        return True
    if host.endswith(("arm64", "aarch64", "universal2")):
        return False
    return platform.machine().lower() in ("x86_64", "amd64")


class BuildExt(build_ext):
    def build_extension(self, ext):
        msvc = self.compiler.compiler_type == "msvc"
        common = MSVC_FLAGS if msvc else UNIX_FLAGS
        levels = [(0, "baseline", [], [])]
        if target_is_x86_64():
            levels += X86_64_LEVELS
        ext.extra_compile_args = common + ext.extra_compile_args
        level_flags = []
        for number, name, unix_flags, msvc_flags in levels:
            flags = common + (msvc_flags if msvc else unix_flags)
            ext.extra_objects += self.compiler.compile(
                ["src_c/kernels.c"],
                output_dir=os.path.join(self.build_temp, name),
                macros=[("RK_ISA_LEVEL", str(number))],
                include_dirs=["src_c"],
                extra_postargs=flags,
                depends=ext.depends,
            )
            level_flags.append(" ".join(flags))
        # The flags, for rectkern.show_config(): a header cpu.c includes.
        os.makedirs(self.build_temp, exist_ok=True)
        with open(os.path.join(self.build_temp, "rk_build_info.h"), "w") as f:
            f.write("/* Written by setup.py: the flags each level was built with. */\n")
            f.write(f"#define RK_BUILD_LEVEL_FLAGS {{{', '.join(map(json.dumps, level_flags))}}}\n")
        ext.include_dirs.append(self.build_temp)
        ext.define_macros.append(("RK_HAVE_BUILD_INFO", "1"))
        super().build_extension(ext)


extension = Extension(
    "rectkern._ext",
    sources=["rectkern/_ext.pyx", "src_c/cpu.c"],
    include_dirs=[np.get_include(), "src_c"],
    depends=[os.path.join("src_c", f) for f in sorted(os.listdir("src_c"))],
    libraries=[] if sys.platform == "win32" else ["m"],   # fenv.h
    define_macros=[
        ("NPY_NO_DEPRECATED_API", "NPY_2_0_API_VERSION"),
        ("NPY_TARGET_VERSION", "NPY_2_0_API_VERSION"),
    ],
)

setup(
    ext_modules=cythonize([extension], compiler_directives={"language_level": 3}),
    cmdclass={"build_ext": BuildExt},
)
