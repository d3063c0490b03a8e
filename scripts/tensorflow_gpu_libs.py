#!/usr/bin/env python3
"""The GPU variant of scripts/install-tensorflow-backend.sh (--gpu): the hash-locked wheels and the
CUDA libraries TensorFlow loads. Standard library only (runs in the training image's build stage).

  verify LOCK DIR [--nvidia-requirements OUT]
      Checks that DIR holds, for every requirement of LOCK (training/requirements-gpu.txt), a
      wheel whose sha256 is one of the requirement's hashes. A wheel named like a requirement
      whose hash is not locked is deleted (corrupt or tampered; pip fetches it again). Prints
      the tensorflow wheel's path; with --nvidia-requirements, writes the other requirements
      (with their hashes) to OUT for `pip install --require-hashes`. Exit 3: wheels missing.
  lib-dirs NVIDIA_ROOT
      Prints the LD_LIBRARY_PATH the layout needs: every NVIDIA_ROOT/nvidia/*/lib, ':'-joined.
  check FRAMEWORK NVIDIA_ROOT
      Loads libtensorflow_framework.so.2 (FRAMEWORK) with LD_LIBRARY_PATH = lib-dirs and calls
      TensorFlow's own tsl::internal::DsoLoader::TryDlopenCUDALibraries(), the check TensorFlow
      makes before it registers a GPU (no GPU or driver needed: it only dlopens). TensorFlow logs
      each library it opens or fails to open (TF_CPP_VMODULE=dso_loader=1). Then opens the
      libraries cuDNN loads lazily (its sub-libraries, libnvrtc), read from cuDNN's binaries.
      Passes when every one loads from NVIDIA_ROOT with its file name as soname, and every
      CUDA library mapped into the process comes from NVIDIA_ROOT (none from the system).
"""
import ctypes
import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

TRY_DLOPEN_CUDA = "_ZN3tsl8internal9DsoLoader22TryDlopenCUDALibrariesEv"


def fail(message: str, code: int = 1) -> None:
    print(f"[tensorflow-backend] ERROR: {message}", file=sys.stderr)
    sys.exit(code)


def parse_lock(lock: Path) -> list[dict]:
    """Requirements `name==version --hash=sha256:...` of a pip requirements file."""
    logical, start, current = [], 0, ""
    for number, raw in enumerate(lock.read_text(encoding="utf-8").split("\n"), 1):
        if not current:
            start = number
        current += raw[:-1] + " " if raw.endswith("\\") else raw
        if not raw.endswith("\\"):
            logical.append((start, current))
            current = ""
    reqs = []
    for number, line in logical:
        line = re.sub(r"(^|\s)#.*", "", line).strip()
        if not line:
            continue
        m = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([0-9][^\s;]*)((?:\s+--hash=sha256:[0-9a-f]{64})+)", line)
        if not m:
            fail(f"{lock}:{number}: requirement '{line}' is not 'name==version --hash=sha256:<64 hex>'; every line must pin an exact version and its hashes.")
        reqs.append({"name": m[1], "version": m[2], "hashes": set(re.findall(r"[0-9a-f]{64}", m[3])), "line": line})
    if not reqs:
        fail(f"{lock} has no requirement.")
    return reqs


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 24):
            h.update(chunk)
    return h.hexdigest()


def wheel_prefix(req: dict) -> str:
    return f"{re.sub(r'[-_.]+', '_', req['name']).lower()}-{req['version']}-"


def verify(lock: Path, directory: Path, nvidia_out: Path | None) -> None:
    reqs = parse_lock(lock)
    found: dict[str, Path] = {}
    for wheel in sorted(directory.glob("*.whl")) if directory.is_dir() else []:
        req = next((r for r in reqs if wheel.name.lower().startswith(wheel_prefix(r))), None)
        if req is None:
            continue
        digest = sha256(wheel)
        if digest in req["hashes"]:
            found[req["name"]] = wheel
        else:
            print(f"[tensorflow-backend]     {wheel.name}: sha256 {digest} is not locked in {lock.name}; deleting it (pip fetches it again)", file=sys.stderr)
            wheel.unlink()
    missing = [r["name"] + "==" + r["version"] for r in reqs if r["name"] not in found]
    if missing:
        print(f"[tensorflow-backend]     not in {directory}: {', '.join(missing)}", file=sys.stderr)
        sys.exit(3)
    tensorflow = [r for r in reqs if r["name"] == "tensorflow"]
    if len(tensorflow) != 1:
        fail(f"{lock} must lock exactly one 'tensorflow==<version>'.")
    if nvidia_out is not None:
        lines = [f"{r['name']}=={r['version']} " + " ".join(f"--hash=sha256:{h}" for h in sorted(r["hashes"])) for r in reqs if r["name"] != "tensorflow"]
        nvidia_out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(found["tensorflow"])


def lib_dirs(root: Path) -> list[str]:
    dirs = sorted(str(p) for p in (root / "nvidia").glob("*/lib") if p.is_dir())
    if not dirs:
        fail(f"no nvidia/*/lib directory under {root}: the NVIDIA wheels are not installed there.")
    return dirs


def soname(path: str) -> str | None:
    out = subprocess.run(["readelf", "-d", path], capture_output=True, text=True, check=True).stdout
    m = re.search(r"\(SONAME\)\s+Library soname: \[([^\]]+)\]", out)
    return m[1] if m else None


def probe(framework: str, names: list[str]) -> None:
    """Runs in a child process (its stderr carries TensorFlow's log): prints JSON on stdout."""
    lib = ctypes.CDLL(framework)
    try_dlopen = getattr(lib, TRY_DLOPEN_CUDA)
    # Returns absl::Status, a class with a destructor: the caller passes the return slot's address
    # as a hidden first argument (x86-64 SysV). An OK status is absl's inlined rep 1.
    try_dlopen.argtypes = [ctypes.c_void_p]
    try_dlopen.restype = ctypes.c_void_p
    slot = ctypes.create_string_buffer(64)
    try_dlopen(slot)
    status_rep = int.from_bytes(slot.raw[:8], "little")
    extra = {}
    for name in names:
        try:
            ctypes.CDLL(name)
            extra[name] = None
        except OSError as err:
            extra[name] = str(err)
    maps = sorted({line.split()[-1] for line in open("/proc/self/maps", encoding="utf-8") if line.split()[-1].startswith("/")})
    print(json.dumps({"status_ok": status_rep == 1, "extra": extra, "maps": maps}))


def lazy_cudnn_names(root: Path, cuda_major: str) -> list[str]:
    """What cuDNN dlopens on first use, read from its binaries: its sub-libraries
    ("libcudnn_graph.so" + ".<major>") and libnvrtc ("libnvrtc.so.%d", the CUDA major)."""
    cudnn = sorted((root / "nvidia" / "cudnn" / "lib").glob("libcudnn.so.*"))
    if not cudnn:
        fail(f"no libcudnn.so.* under {root}/nvidia/cudnn/lib.")
    major = cudnn[0].name.split(".so.")[1]
    names, nvrtc = set(), False
    for lib in (root / "nvidia" / "cudnn" / "lib").glob("libcudnn*.so.*"):
        data = lib.read_bytes()
        names.update(f"{m.decode()}.{major}" for m in re.findall(rb"\x00(libcudnn_[a-z_]+\.so)\x00", data))
        nvrtc = nvrtc or b"libnvrtc.so.%d\x00" in data
    if nvrtc:
        names.add(f"libnvrtc.so.{cuda_major}")
    return sorted(names)


def check(framework: Path, root: Path) -> None:
    root = root.resolve()
    dirs = lib_dirs(root)
    env = dict(os.environ, LD_LIBRARY_PATH=":".join(dirs), TF_CPP_MIN_LOG_LEVEL="0", TF_CPP_VMODULE="dso_loader=1")
    cudart = sorted((root / "nvidia" / "cuda_runtime" / "lib").glob("libcudart.so.*"))
    cuda_major = cudart[0].name.split(".so.")[1] if cudart else "12"
    lazy = lazy_cudnn_names(root, cuda_major)
    child = subprocess.run([sys.executable, __file__, "probe", str(framework), *lazy], env=env, capture_output=True, text=True)
    if child.returncode != 0:
        print(child.stderr[-3000:], file=sys.stderr)
        fail(f"loading {framework} and calling TryDlopenCUDALibraries failed (exit {child.returncode}, output above).")
    result = json.loads(child.stdout.strip().splitlines()[-1])
    opened = re.findall(r"Successfully opened dynamic library (\S+)", child.stderr)
    failed = re.findall(r"Could not load dynamic library '([^']+)'; dlerror: ([^\n]*)", child.stderr)
    problems = [f"TensorFlow could not load {name}: {err}" for name, err in failed]
    problems += [f"cuDNN's {name} does not load: {err}" for name, err in result["extra"].items() if err]
    if not opened:
        problems.append("TensorFlow logged no library opened (is this the tensorflow wheel's libtensorflow_framework.so.2?)")
    if not result["status_ok"] and not failed:
        problems.append("TryDlopenCUDALibraries() returned an error status")
    mapped = result["maps"]
    rows = []
    for name in opened + [n for n, err in result["extra"].items() if not err]:
        path = next((p for p in mapped if os.path.basename(p) == name), None)
        if path is None:
            problems.append(f"{name} loaded but is not mapped under its name")
            continue
        if not path.startswith(str(root) + os.sep):
            problems.append(f"{name} came from {path}, outside the layout {root}")
        if soname(path) != name:
            problems.append(f"{path} has soname {soname(path)}, not {name}")
        rows.append((name, os.path.relpath(path, root)))
    cuda_like = re.compile(r"/lib(cuda|cudart|cublas|cufft|cusolver|cusparse|curand|cudnn|nvJitLink|nvrtc|nccl|cupti)[^/]*\.so")
    for path in mapped:
        if cuda_like.search(path) and not path.startswith(str(root) + os.sep):
            problems.append(f"a CUDA library came from the system: {path}")
    # The TensorFlow libraries link no CUDA library (readelf NEEDED): every one is dlopened by
    # name, so what TensorFlow's loader opened above is the whole list.
    needed = set()
    for lib in (framework, framework.parent / "libtensorflow_cc.so.2"):
        if lib.exists():
            out = subprocess.run(["readelf", "-d", str(lib)], capture_output=True, text=True, check=True).stdout
            needed.update(re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", out))
    linked = sorted(n for n in needed if cuda_like.search("/" + n))
    if linked:
        problems.append(f"the TensorFlow libraries link {', '.join(linked)} directly (NEEDED); check them too")
    for name, rel in rows:
        print(f"[tensorflow-backend]     {name:42s} {rel}")
    print(f"[tensorflow-backend]     NEEDED by the TensorFlow libraries: {', '.join(sorted(needed))} (no CUDA library: all are dlopened)")
    if problems:
        fail("the CUDA libraries TensorFlow loads are not all in the layout:\n  " + "\n  ".join(problems))
    print(f"[tensorflow-backend]     TryDlopenCUDALibraries: OK ({len(opened)} libraries) + {len(result['extra'])} cuDNN loads on first use; LD_LIBRARY_PATH={':'.join(os.path.relpath(d, root) for d in dirs)} (relative to {root})")


def main() -> None:
    args = sys.argv[1:]
    if len(args) >= 3 and args[0] == "verify":
        out = Path(args[args.index("--nvidia-requirements") + 1]) if "--nvidia-requirements" in args else None
        verify(Path(args[1]), Path(args[2]), out)
    elif len(args) == 2 and args[0] == "lib-dirs":
        print(":".join(lib_dirs(Path(args[1]).resolve())))
    elif len(args) == 3 and args[0] == "check":
        check(Path(args[1]), Path(args[2]))
    elif len(args) >= 2 and args[0] == "probe":
        probe(args[1], args[2:])
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
