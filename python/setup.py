"""Build edxbus for Python: the edxbus._edxbus extension (C, over libedxbus) and the package.

    pip install ./python                 # from the repository root; no network needed
    make python                          # builds in place: PYTHONPATH=python works

libedxbus is taken from, in order: the build directory named by EDXBUS_BUILD_DIR (default: the
repository's build/), linked statically so the extension carries it; an installed libedxbus
found by pkg-config (`make install`); else the repository's build/ is built first with cmake.
EDXBUS_SANITIZE=1 compiles the extension with AddressSanitizer + UndefinedBehaviorSanitizer, to
match a sanitized libedxbus.
"""
import os
import subprocess
import sys

from setuptools import Extension, setup

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
DEPS = ["jansson", "sqlite3", "yaml-0.1", "hiredis", "rdkafka", "libcurl", "libmicrohttpd"]


def pkg_config(*args):
    try:
        out = subprocess.run(["pkg-config", *args], check=True, capture_output=True, text=True)
    except (OSError, subprocess.CalledProcessError):
        return None
    return out.stdout.split()


def optional_deps(build):
    """The libraries of the brokers that are build options, when the build has them on."""
    try:
        with open(os.path.join(build, "CMakeCache.txt")) as cache:
            text = cache.read()
    except OSError:
        return []
    return ["libnats"] if "EDXBUS_WITH_NATS:BOOL=ON" in text else []


def library():
    """(include_dirs, extra_objects, libraries-and-flags) for libedxbus."""
    build = os.environ.get("EDXBUS_BUILD_DIR") or os.path.join(REPO, "build")
    static = os.path.join(build, "src", "libedxbus.a")
    include = os.path.join(REPO, "include")
    if not os.path.exists(static) and pkg_config("--exists", "edxbus") is not None \
            and "EDXBUS_BUILD_DIR" not in os.environ:
        return pkg_config("--cflags-only-I", "edxbus"), [], pkg_config("--libs", "edxbus")
    if not os.path.exists(static):
        if not os.path.exists(os.path.join(REPO, "CMakeLists.txt")):
            sys.exit("edxbus: libedxbus not found; build it (make build) or install it "
                     "(make install), or set EDXBUS_BUILD_DIR")
        subprocess.run(["cmake", "-S", REPO, "-B", build], check=True)
        subprocess.run(["cmake", "--build", build, "--target", "edxbus_static"], check=True)
    deps = DEPS + optional_deps(build)
    libs = pkg_config("--libs", *deps)
    if libs is None:
        sys.exit("edxbus: pkg-config cannot find " + " ".join(deps) + "; run scripts/deps.sh")
    return ["-I" + include], [static], libs + ["-lm", "-lpthread", "-ldl"]


cflags, objects, ldflags = library()
compile_args = ["-std=c11", "-D_GNU_SOURCE", "-Wall", "-Wextra", "-Werror",
                "-Wno-unused-parameter", "-Wno-missing-field-initializers"] + cflags
link_args = list(ldflags)
if os.environ.get("EDXBUS_SANITIZE") == "1":
    san = ["-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer"]
    compile_args += san
    link_args += ["-fsanitize=address,undefined"]

setup(
    name="edxbus",
    version="0.1.0",
    description="The Open edX event bus in C, for Python and openedx-events",
    packages=["edxbus"],
    ext_modules=[Extension(
        "edxbus._edxbus",
        sources=[os.path.join("src", f) for f in
                 ("module.c", "pyjson.c", "producer.c", "consumer.c", "consumer_poll.c")],
        depends=[os.path.join("src", f) for f in ("_edxbus.h", "consumer_int.h")],
        extra_compile_args=compile_args,
        extra_objects=objects,
        extra_link_args=link_args,
    )],
    python_requires=">=3.10",  # Py_NewRef, PyModule_AddObjectRef,
)
