"""Build of the compiled core; metadata lives in pyproject.toml.

The kernels (src_c/kernels.c) are compiled once per instruction-set level
of the target architecture, each with that level's flags, and linked into
one extension that picks a level at import (src_c/cpu.c).
"""

import concurrent.futures
import glob
import hashlib
import itertools
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import sysconfig

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

# No -march/-mcpu and no fast-math options: a wheel must run on any CPU of its
# architecture, and NaN and signed-zero semantics are part of the contract.
# -fno-trapping-math (clang's and MSVC's default, not gcc's) changes no
# result: it lets gcc turn the kernels' selects into vector blends.
# -ffp-contract=off keeps a * b + c two roundings at every level, so that
# all levels give the same bits.  -fno-wrapv undoes the -fwrapv that Python's
# own CFLAGS bring, which stops gcc vectorising index arithmetic; the kernels
# have no signed overflow.  -fno-math-errno (MSVC's default) lets gcc
# vectorise sqrt, which is correctly rounded either way; it changes no result.
UNIX_FLAGS = ["-O3", "-fno-wrapv", "-fno-trapping-math", "-ffp-contract=off",
              "-fno-math-errno"]
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


OBJECT_CACHE = os.path.join("build", "rectkern-objects")
C_SOURCES = sorted(os.path.join("src_c", f) for f in os.listdir("src_c"))


class BuildExt(build_ext):
    """The extension, with kernels.c compiled once per level.

    Every object is independent, so the levels' objects and the extension's
    own sources (the Cython module, cpu.c) compile side by side, all at once
    (a handful of compilers, each of modest memory).  The Cython module is written
    from _ext.pyx while the levels compile: setuptools' build_ext is
    Cython's when Cython is installed, as pyproject.toml asks.

    A level's object is kept in build/ under a key of everything it is made
    from (the compiler, its version, the flags and macros, and the bytes of
    every file in src_c/: kernels.c includes no other header, neither
    Python's nor NumPy's), so a second build of the same sources, such as
    an editable install after `pip install .`, reuses it; `build_ext
    --force` compiles it again.
    """

    def build_extension(self, ext):
        import numpy as np     # here, so that the metadata steps need not import it

        ext.include_dirs.append(np.get_include())
        msvc = self.compiler.compiler_type == "msvc"
        if msvc and not getattr(self.compiler, "initialized", True):
            self.compiler.initialize()    # once, before the threads use it
        common = MSVC_FLAGS if msvc else UNIX_FLAGS
        levels = [(0, "baseline", [], [])]
        if target_is_x86_64():
            levels += X86_64_LEVELS
        ext.extra_compile_args = common + ext.extra_compile_args
        level_args = [common + (msvc_flags if msvc else unix_flags)
                      for _, _, unix_flags, msvc_flags in levels]
        level_flags = [" ".join(args) for args in level_args]
        # The flags, for rectkern.show_config(): a header cpu.c includes.
        os.makedirs(self.build_temp, exist_ok=True)
        with open(os.path.join(self.build_temp, "rk_build_info.h"), "w") as f:
            f.write("/* Written by setup.py: the flags each level was built with. */\n")
            f.write(f"#define RK_BUILD_LEVEL_FLAGS {{{', '.join(map(json.dumps, level_flags))}}}\n")
        ext.include_dirs.append(self.build_temp)
        ext.define_macros.append(("RK_HAVE_BUILD_INFO", "1"))

        compile_one = self.compiler.compile
        replaced = self.compiler.__dict__.get("compile")
        identity = self.compiler_identity()
        # every object at once: three objects of about the same time on two
        # cores would leave one idle for a third of the build
        workers = len(levels) + len(ext.sources)
        with concurrent.futures.ThreadPoolExecutor(workers) as pool:
            level_objects = [
                pool.submit(self.compile_level, compile_one, identity, number, name, args)
                for (number, name, _, _), args in zip(levels, level_args)]

            def compile_sources_beside_levels(sources, *args, **kwargs):
                # build_ext links what this returns with ext.extra_objects,
                # which it reads only after this call
                own = [pool.submit(compile_one, [source], *args, **kwargs)
                       for source in sources]
                ext.extra_objects += [future.result() for future in level_objects]
                return [obj for future in own for obj in future.result()]

            self.compiler.compile = compile_sources_beside_levels
            try:
                super().build_extension(ext)
            finally:
                if replaced is None:
                    del self.compiler.compile     # the class's method again
                else:
                    self.compiler.compile = replaced
            for future in level_objects:    # a failed level fails the build,
                future.result()             # even where nothing was linked

    def compile_level(self, compile_one, identity, number, name, flags):
        """kernels.c for one level: the path of its object, from the cache
        when an object of the same inputs (identity: compiler_identity())
        is there."""
        source = os.path.join("src_c", "kernels.c")
        macros = [("RK_ISA_LEVEL", str(number))]
        key = hashlib.sha256(json.dumps([identity, macros, flags]).encode())
        for path in C_SOURCES:
            with open(path, "rb") as f:
                key.update(path.encode() + b"\0" + f.read())
        cached = os.path.join(OBJECT_CACHE, f"{name}-{key.hexdigest()[:20]}"
                              + self.compiler.obj_extension)
        if os.path.exists(cached) and not self.force:
            print(f"rectkern: {name} kernels from {cached}")
            return cached
        output_dir = os.path.join(self.build_temp, name)
        [obj] = compile_one([source], output_dir=output_dir, macros=macros,
                            include_dirs=["src_c"], extra_postargs=flags,
                            depends=C_SOURCES)
        os.makedirs(OBJECT_CACHE, exist_ok=True)
        pattern = os.path.join(OBJECT_CACHE, f"{name}-*{self.compiler.obj_extension}")
        for old in glob.glob(pattern):
            try:
                os.remove(old)             # one object per level is kept
            except FileNotFoundError:      # another build's clean-up was first
                pass
        partial = cached + f".{os.getpid()}.partial"
        shutil.copyfile(obj, partial)
        os.replace(partial, cached)        # never a half-written object
        return cached

    def compiler_identity(self):
        """The compiler's command and options, what it says of its version,
        and (MSVC) the headers it finds."""
        command = list(getattr(self.compiler, "compiler_so", None)
                       or [getattr(self.compiler, "cc", self.compiler.compiler_type)])
        options = list(getattr(self.compiler, "compile_options", None) or [])
        program = list(itertools.takewhile(lambda arg: not arg.startswith("-"), command))
        try:
            answer = subprocess.run(program[-1:] + ["--version"], capture_output=True,
                                    text=True, timeout=60)
            version = answer.stdout + answer.stderr
        except (OSError, subprocess.SubprocessError):
            version = ""
        return [command + options, version, os.environ.get("INCLUDE", "")]


def write_elementwise_stub():
    """rectkern/_elementwise.pyi, the types of the elementwise ops: one
    ufunc per row of the registry, src_c/rk_ops.h."""
    with open(os.path.join("src_c", "rk_ops.h")) as f:
        names = re.findall(r"^\s*RK_OP\((\w+),", f.read(), re.MULTILINE)
    text = ("# Written by setup.py from the rows of src_c/rk_ops.h.\n"
            "import numpy as np\n\n"
            f"__all__ = {names!r}\n\n"
            + "".join(f"{name}: np.ufunc\n" for name in names))
    path = os.path.join("rectkern", "_elementwise.pyi")
    if not os.path.exists(path) or open(path).read() != text:
        with open(path, "w") as f:
            f.write(text)


write_elementwise_stub()

extension = Extension(
    "rectkern._ext",
    sources=["rectkern/_ext.pyx", "src_c/cpu.c", "src_c/sum.c"],
    include_dirs=["src_c"],           # and NumPy's, added by BuildExt
    depends=list(C_SOURCES),
    libraries=[] if sys.platform == "win32" else ["m"],   # fenv.h
    define_macros=[
        ("NPY_NO_DEPRECATED_API", "NPY_2_0_API_VERSION"),
        ("NPY_TARGET_VERSION", "NPY_2_0_API_VERSION"),
    ],
)

extension.cython_directives = {"language_level": 3}

setup(ext_modules=[extension], cmdclass={"build_ext": BuildExt})
