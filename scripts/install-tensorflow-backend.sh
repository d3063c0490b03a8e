#!/usr/bin/env bash
# Installs the TensorFlow.js `tensorflow` backend (@tensorflow/tfjs-node) into simpair's
# node_modules WITHOUT Google's download: the native addon is built against the TensorFlow
# C API shipped inside the PyPI wheel `tensorflow-cpu`. For machines that reach PyPI and
# npm but not Google's storage (tfjs-node's own install script crashes there and npm
# rolls the whole install back).
#
# Usage (from the repository root, after `npm ci`):
#   bash scripts/install-tensorflow-backend.sh              # pip-downloads the wheel (cached)
#   bash scripts/install-tensorflow-backend.sh WHEEL.whl    # uses that wheel
#   bash scripts/install-tensorflow-backend.sh --no-strip   # keeps the libraries whole
#   bash scripts/install-tensorflow-backend.sh --rebuild    # builds the addon even if one is cached
#   bash scripts/install-tensorflow-backend.sh --gpu        # the GPU variant, below
#
# --gpu: @tensorflow/tfjs-node-gpu (same binding source) against the PyPI `tensorflow` wheel of
# the same version (its Linux x86_64 build has the CUDA kernels), plus the NVIDIA CUDA 12 / cuDNN 9
# libraries it loads, all from training/requirements-gpu.txt (exact versions, sha256-locked;
# about 2.1 GB of wheels, downloaded once into the cache and checked on every run). The NVIDIA
# wheels are installed with `pip install --require-hashes --target` into
# node_modules/@tensorflow/tfjs-node-gpu/deps/nvidia/<library>/lib; TensorFlow finds them
# through LD_LIBRARY_PATH (printed at the end; training/Dockerfile sets it), because its own
# RUNPATH misses cusolver and cuDNN's misses nvrtc. An extra step has TensorFlow's own loader
# (TryDlopenCUDALibraries) open every CUDA library from that layout; no GPU is needed for any
# of it, and without a GPU (or driver) TensorFlow runs on the CPU. The same command builds
# the training image (training/Dockerfile), where the checkout is the image's /app.
#
# Environment:
#   SIMPAIR_TF_WHEEL_CACHE  cache directory (default ${XDG_CACHE_HOME:-$HOME/.cache}/simpair/tf-wheel):
#                           holds the wheel, the extracted libraries + headers and the built
#                           addon, so a re-run after `npm ci` (which wipes node_modules) neither
#                           downloads, unzips nor compiles.
#   SIMPAIR_ROOT            the simpair checkout to install into (default: the current directory
#                           when it holds simpair's package.json, else this script's checkout).
#   SIMPAIR_NODEDIR         Node.js headers prefix (default: the prefix of `node` when it has
#                           include/node/node_api.h, e.g. /usr with Debian's nodejs).
#
# What it does, each step skipped when already done:
#   1. wheel: `pip download tensorflow-cpu==2.21.0 --no-deps` into the cache (or the given path;
#      --gpu: the wheels of training/requirements-gpu.txt, --require-hashes, and their sha256);
#   2. extracts libtensorflow_cc.so.2 and libtensorflow_framework.so.2 (static symbol tables
#      stripped unless --no-strip: 853 MB -> 634 MB, same exports) and the C API headers the
#      binding includes into the cache (--gpu: the tensorflow wheel's, 1.26 GB -> 969 MB; and
#      `pip install --require-hashes --no-index --target` of the NVIDIA wheels, 2.2 GB, in the cache);
#   3. `npm install --no-save --ignore-scripts` of a small local package depending on
#      @tensorflow/tfjs-node@4.22.0 and tfjs-node-gpu@4.22.0 (npm skips a --no-save install of
#      an optional peer, which they are in package.json); package.json and package-lock.json are not touched,
#      and the script checks that npm deduplicated @tensorflow/tfjs-core;
#   4. links the libraries into node_modules/@tensorflow/tfjs-node/deps/lib under the names
#      the addon links with (libtensorflow.so, libtensorflow_framework.so) and the name
#      tfjs-node's install.js checks to skip its download (libtensorflow.so.2.9.1);
#   5. builds the addon: `node-pre-gyp install --build-from-source` (kept in the cache too);
#   6. checks with nm that the libraries export every TF_*/TFE_* symbol the addon imports;
#      --gpu: and that TensorFlow's own loader opens every CUDA library from deps/nvidia
#      (scripts/tensorflow_gpu_libs.py check);
#   7. smoke test: initTfBackend() with SIMPAIR_TF_BACKEND=node (--gpu: node-gpu), a matMul and
#      a tiny LSTM fit (--gpu without a GPU: on the CPU, which is the fallback CI tests).
set -euo pipefail

TF_VERSION="2.21.0"
WHEEL_PYTHON="3.11"
TFJS_NODE_VERSION="4.22.0"
# --gpu: a Python with this minor version picks the same tensorflow wheel as the lock file.
GPU_PLATFORMS=(--platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64)
# tfjs-node 4.22's install.js looks for this file name to decide libtensorflow is present.
TFJS_NODE_LIB_NAME="libtensorflow.so.2.9.1"
SHIM_NAME="simpair-tensorflow-backend"

say() { printf '[tensorflow-backend] %s\n' "$*"; }
die() { printf '[tensorflow-backend] ERROR: %s\n' "$*" >&2; exit 1; }
now() { date +%s; }
started="$(now)"
steps=7

strip_libs=1
rebuild=0
gpu=0
wheel_arg=""
for arg in "$@"; do
  case "$arg" in
    --no-strip) strip_libs=0 ;;
    --rebuild) rebuild=1 ;;
    --gpu) gpu=1 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    -*) die "unknown option '$arg'; see --help." ;;
    *) [[ -z "$wheel_arg" ]] || die "more than one wheel given ('$wheel_arg', '$arg')."; wheel_arg="$arg" ;;
  esac
done

[[ $gpu == 0 ]] || steps=8
[[ $gpu == 0 || -z "$wheel_arg" ]] || die "--gpu takes its wheels from training/requirements-gpu.txt; give no wheel path."
if [[ $gpu == 1 ]]; then
  PKG="@tensorflow/tfjs-node-gpu"; WHEEL_DIST="tensorflow"; BACKEND_CHOICE="node-gpu"
else
  PKG="@tensorflow/tfjs-node"; WHEEL_DIST="tensorflow_cpu"; BACKEND_CHOICE="node"
fi

script_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# simpair, or the training image's own dependency set (training/package.json, in the image's /app).
is_simpair() { [[ -f "$1/package.json" ]] && grep -qE '"name": "simpair(-training)?"' "$1/package.json"; }
if [[ -n "${SIMPAIR_ROOT:-}" ]]; then
  root="$(cd "$SIMPAIR_ROOT" && pwd)"
elif is_simpair "$PWD"; then
  root="$PWD"
else
  root="$script_root"
fi
is_simpair "$root" || die "$root is not a simpair checkout (no package.json named simpair); run from the repository root or set SIMPAIR_ROOT."
[[ -d "$root/node_modules/@tensorflow/tfjs-core" ]] || die "$root/node_modules has no @tensorflow/tfjs-core; run 'npm ci' in $root first."
if [[ -n "${SIMPAIR_TF_WHEEL_CACHE:-}" ]]; then
  cache="$SIMPAIR_TF_WHEEL_CACHE"
elif [[ -n "${XDG_CACHE_HOME:-}" || -n "${HOME:-}" ]]; then
  cache="${XDG_CACHE_HOME:-$HOME/.cache}/simpair/tf-wheel"
else
  cache="$root/.cache/tf-wheel" # no HOME (some CI runners): the checkout's git-ignored .cache/
fi
say "installing $PKG@$TFJS_NODE_VERSION into $root/node_modules (cache: $cache)"

# ---- tools ------------------------------------------------------------------------------
need() { command -v "$1" >/dev/null 2>&1 || die "$1 not found: $2"; }
need node "install Node.js >= 20.6."
need npm "install npm (it comes with Node.js)."
need python3 "install Python 3 (node-gyp and the wheel extraction need it), e.g. 'apt-get install python3'."
need make "install a C++ toolchain, e.g. 'apt-get install build-essential'."
need nm "install binutils, e.g. 'apt-get install binutils'."
if [[ -z "${CXX:-}" ]]; then
  command -v g++ >/dev/null 2>&1 || command -v c++ >/dev/null 2>&1 || command -v clang++ >/dev/null 2>&1 ||
    die "no C++ compiler (g++, c++ or clang++) found: install one, e.g. 'apt-get install build-essential', or set CXX."
fi
if [[ -n "${SIMPAIR_NODEDIR:-}" ]]; then
  nodedir="$SIMPAIR_NODEDIR"
else
  nodedir="$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")"
fi
[[ -f "$nodedir/include/node/node_api.h" && -f "$nodedir/include/node/common.gypi" ]] ||
  die "Node.js headers not found in $nodedir/include/node (node_api.h, common.gypi): on Debian/Ubuntu 'apt-get install libnode-dev' (or the nodejs package that ships /usr/include/node); else set SIMPAIR_NODEDIR to a Node.js $(node --version) source or headers prefix."

# ---- 1. wheel ---------------------------------------------------------------------------
mkdir -p "$cache"
if [[ $gpu == 1 ]]; then
  lock="$script_root/training/requirements-gpu.txt"
  helper="$script_root/scripts/tensorflow_gpu_libs.py"
  [[ -f "$lock" && -f "$helper" ]] || die "--gpu needs $lock and $helper (the checkout of this script)."
  gpu_wheels="$cache/gpu-wheels"
  nvidia_reqs="$cache/nvidia-requirements.txt"
  t="$(now)"
  set +e
  wheel="$(python3 "$helper" verify "$lock" "$gpu_wheels" --nvidia-requirements "$nvidia_reqs")"
  status=$?
  set -e
  if [[ $status == 3 ]]; then
    python3 -m pip --version >/dev/null 2>&1 || die "pip not found for python3 (needed to download the wheels of $lock): 'apt-get install python3-pip'."
    say "1/8 wheels: pip download --require-hashes -r $(basename "$lock") (about 2.1 GB) ..."
    python3 -m pip download --quiet --no-deps --require-hashes --only-binary=:all: --python-version "$WHEEL_PYTHON" \
      "${GPU_PLATFORMS[@]}" --dest "$gpu_wheels" -r "$lock" ||
      die "pip could not download the wheels of $lock (pip's message above); check the network/PyPI index."
    say "    downloaded $(du -sh "$gpu_wheels" | cut -f1) in $(($(now) - t)) s"
    wheel="$(python3 "$helper" verify "$lock" "$gpu_wheels" --nvidia-requirements "$nvidia_reqs")" ||
      die "pip finished but $gpu_wheels does not hold every wheel of $lock with a locked sha256."
  elif [[ $status != 0 ]]; then
    die "checking the wheels in $gpu_wheels against $lock failed (message above)."
  else
    say "1/8 wheels: $gpu_wheels (cached; sha256 of all $(grep -c '^[a-z]' "$lock") checked against $(basename "$lock") in $(($(now) - t)) s)"
  fi
  [[ "$(basename "$wheel")" == "tensorflow-$TF_VERSION-"* ]] ||
    die "$lock locks $(basename "$wheel"), not tensorflow $TF_VERSION: the CPU and GPU backends must be the same TensorFlow; lock tensorflow==$TF_VERSION."
elif [[ -n "$wheel_arg" ]]; then
  [[ -f "$wheel_arg" ]] || die "wheel '$wheel_arg' does not exist; give the path of a tensorflow-cpu $TF_VERSION wheel, or no argument to download it with pip."
  wheel="$(readlink -f "$wheel_arg")"
  say "1/$steps wheel: $wheel (given)"
else
  wheel="$(find "$cache" -maxdepth 1 -name "tensorflow_cpu-$TF_VERSION-*.whl" | sort | head -n 1)"
  if [[ -n "$wheel" ]]; then
    say "1/$steps wheel: $wheel (cached)"
  else
    python3 -m pip --version >/dev/null 2>&1 || die "pip not found for python3 (needed to download tensorflow-cpu==$TF_VERSION): 'apt-get install python3-pip', or give a wheel path as argument."
    say "1/$steps wheel: pip download tensorflow-cpu==$TF_VERSION (about 274 MB) ..."
    t="$(now)"
    # The C libraries are the same in every cpXY wheel; pin the one this script is tested
    # with, whatever Python runs pip.
    python3 -m pip download --quiet --no-deps --only-binary=:all: --python-version "$WHEEL_PYTHON" \
      --dest "$cache" "tensorflow-cpu==$TF_VERSION" ||
      die "pip could not download tensorflow-cpu==$TF_VERSION (pip's message above); check the network/PyPI index, or give a wheel path as argument."
    wheel="$(find "$cache" -maxdepth 1 -name "tensorflow_cpu-$TF_VERSION-*.whl" | sort | head -n 1)"
    [[ -n "$wheel" ]] || die "pip reported success but no tensorflow_cpu-$TF_VERSION-*.whl is in $cache."
    say "    downloaded $(du -h "$wheel" | cut -f1) in $(($(now) - t)) s"
  fi
fi

# ---- 2. libraries and headers, extracted once per wheel into the cache --------------------
variant="$(basename "$wheel" .whl)"
[[ $strip_libs == 0 ]] || variant+="-stripped"
extracted="$cache/extracted/$variant"
if [[ -f "$extracted/.complete" ]]; then
  say "2/$steps libraries + headers: $extracted (cached)"
else
  say "2/$steps extracting libraries + C API headers from $(basename "$wheel") ..."
  t="$(now)"
  rm -rf "$extracted.partial"
  mkdir -p "$extracted.partial"
  python3 - "$wheel" "$extracted.partial" <<'PY' || die "could not extract $wheel (message above); is it a complete TensorFlow wheel?"
import os, posixpath, re, sys, zipfile
wheel, out = sys.argv[1], sys.argv[2]
libs = ["tensorflow/libtensorflow_cc.so.2", "tensorflow/libtensorflow_framework.so.2"]
include = "tensorflow/include/"
# The headers tfjs-node's binding includes; their own includes are followed below.
roots = ["tensorflow/c/c_api.h", "tensorflow/c/eager/c_api.h", "tensorflow/c/tf_datatype.h",
         "tensorflow/c/tf_status.h", "tensorflow/c/tf_tensor.h", "tensorflow/core/platform/ctstring_internal.h"]
with zipfile.ZipFile(wheel) as z:
    names = set(z.namelist())
    missing = [n for n in libs + [include + r for r in roots] if n not in names]
    if missing:
        sys.exit(f"not in the wheel: {', '.join(missing)}")
    for lib in libs:
        with z.open(lib) as src, open(posixpath.join(out, posixpath.basename(lib)), "wb") as dst:
            while chunk := src.read(1 << 24):
                dst.write(chunk)
    seen, todo = set(), list(roots)
    while todo:
        header = todo.pop()
        if header in seen:
            continue
        seen.add(header)
        text = z.read(include + header).decode("utf-8")
        target = posixpath.join(out, "include", header)
        os.makedirs(posixpath.dirname(target), exist_ok=True)
        with open(target, "w", encoding="utf-8") as f:
            f.write(text)
        for dep in re.findall(r'^\s*#\s*include\s+"([^"]+)"', text, re.M):
            if include + dep in names:
                todo.append(dep)
    print(f"    {len(libs)} libraries, {len(seen)} headers")
PY
  if [[ $strip_libs == 1 ]]; then
    need strip "install binutils, or pass --no-strip."
    say "    stripping the static symbol tables (--strip-unneeded: the exported symbols stay) ..."
    strip --strip-unneeded "$extracted.partial"/libtensorflow_cc.so.2 "$extracted.partial"/libtensorflow_framework.so.2
  fi
  touch "$extracted.partial/.complete"
  rm -rf "$extracted"
  mv "$extracted.partial" "$extracted"
  say "    done in $(($(now) - t)) s: $(du -sh "$extracted" | cut -f1)"
fi
if [[ $gpu == 1 ]]; then
  # The NVIDIA libraries, installed by pip from the verified wheels (no index), once per lock.
  nvidia="$cache/extracted/nvidia-$(sha256sum "$nvidia_reqs" | cut -c1-16)"
  if [[ -f "$nvidia/.complete" ]]; then
    say "2/$steps NVIDIA libraries: $nvidia (cached)"
  else
    say "2/$steps NVIDIA libraries: pip install --no-deps --no-index --require-hashes --target ..."
    t="$(now)"
    rm -rf "$nvidia.partial"
    python3 -m pip install --quiet --no-deps --no-index --find-links "$gpu_wheels" --require-hashes --only-binary=:all: \
      --no-compile --target "$nvidia.partial" -r "$nvidia_reqs" || die "pip could not install the NVIDIA wheels of $lock from $gpu_wheels (message above)."
    # Headers, and libraries TensorFlow never loads (BLAS/FFTW shims, multi-GPU cuSOLVER).
    rm -rf "$nvidia.partial"/nvidia/*/include "$nvidia.partial"/nvidia/*/lib/*.a "$nvidia.partial"/bin
    rm -f "$nvidia.partial"/nvidia/cublas/lib/libnvblas.so.* "$nvidia.partial"/nvidia/cufft/lib/libcufftw.so.* "$nvidia.partial"/nvidia/cusolver/lib/libcusolverMg.so.*
    touch "$nvidia.partial/.complete"
    rm -rf "$nvidia"
    mv "$nvidia.partial" "$nvidia"
    say "    done in $(($(now) - t)) s: $(du -sh "$nvidia" | cut -f1)"
  fi
fi

# ---- 3. tfjs-node into node_modules, without its install script ---------------------------
tfjs_node="$root/node_modules/$PKG"
installed_version() { node -p "require('$1/package.json').version" 2>/dev/null || true; }
if [[ "$(installed_version "$tfjs_node")" == "$TFJS_NODE_VERSION" ]]; then
  say "3/$steps $PKG@$TFJS_NODE_VERSION: already in node_modules"
else
  say "3/$steps npm install --no-save --ignore-scripts @tensorflow/tfjs-node(-gpu)@$TFJS_NODE_VERSION (through $SHIM_NAME) ..."
  t="$(now)"
  shim="$cache/npm-shim"
  mkdir -p "$shim"
  cat >"$shim/package.json" <<JSON
{
  "name": "$SHIM_NAME",
  "version": "$TFJS_NODE_VERSION",
  "private": true,
  "description": "Brings @tensorflow/tfjs-node and tfjs-node-gpu into simpair's node_modules without saving them (scripts/install-tensorflow-backend.sh).",
  "license": "Apache-2.0",
  "dependencies": { "@tensorflow/tfjs-node": "$TFJS_NODE_VERSION", "@tensorflow/tfjs-node-gpu": "$TFJS_NODE_VERSION" }
}
JSON
  (cd "$root" && npm install --no-save --ignore-scripts --install-links --no-audit --no-fund --loglevel=error "$shim") ||
    die "npm could not install $PKG@$TFJS_NODE_VERSION (npm's message above)."
  [[ "$(installed_version "$tfjs_node")" == "$TFJS_NODE_VERSION" ]] || die "npm finished but $tfjs_node is not version $TFJS_NODE_VERSION."
  say "    done in $(($(now) - t)) s"
fi
# tf-backend.ts needs ONE @tensorflow/tfjs-core: tfjs-node registers its backend into the copy
# @tensorflow/tfjs resolves, which must be the copy simpair imports.
(cd "$root" && PKG="$PKG" node -e '
  const { createRequire } = require("node:module");
  const { realpathSync } = require("node:fs");
  const fromRoot = createRequire(process.cwd() + "/package.json");
  const tfjs = realpathSync(fromRoot.resolve(process.env.PKG + "/package.json"));
  const fromTfjs = createRequire(createRequire(tfjs).resolve("@tensorflow/tfjs/package.json"));
  for (const pkg of ["@tensorflow/tfjs-core", "@tensorflow/tfjs-layers"]) {
    const ours = realpathSync(fromRoot.resolve(pkg + "/package.json"));
    const theirs = realpathSync(fromTfjs.resolve(pkg + "/package.json"));
    if (ours !== theirs) {
      console.error(`[tensorflow-backend] ERROR: two copies of ${pkg}: ${ours} and ${theirs}; ` +
        `${process.env.PKG} would register its backend into the second. Run "npm ci" and this script again.`);
      process.exit(1);
    }
  }') || exit 1

# ---- 4. libraries and headers into tfjs-node's deps/ --------------------------------------
say "4/$steps linking libraries + headers into node_modules/$PKG/deps"
deps="$tfjs_node/deps"
rm -rf "$deps"
mkdir -p "$deps/lib"
for lib in libtensorflow_cc.so.2 libtensorflow_framework.so.2; do
  # A hard link costs no disk when the cache is on the same file system; else copy.
  ln "$extracted/$lib" "$deps/lib/$lib" 2>/dev/null || cp "$extracted/$lib" "$deps/lib/$lib"
done
ln -s libtensorflow_cc.so.2 "$deps/lib/libtensorflow.so"
ln -s libtensorflow_cc.so.2 "$deps/lib/$TFJS_NODE_LIB_NAME"
ln -s libtensorflow_framework.so.2 "$deps/lib/libtensorflow_framework.so"
cp -R "$extracted/include" "$deps/include"
if [[ $gpu == 1 ]]; then
  # deps/nvidia/<library>/lib: the layout of a pip install (TensorFlow's RUNPATH names
  # $ORIGIN/../nvidia/<library>/lib for most of them); hard links when the cache allows.
  mkdir -p "$deps/nvidia"
  cp -al "$nvidia/nvidia/." "$deps/nvidia/" 2>/dev/null || { rm -rf "$deps/nvidia"; cp -a "$nvidia/nvidia" "$deps/nvidia"; }
  cp -a "$nvidia"/*.dist-info "$deps/nvidia/"
fi

# ---- 5. the addon -----------------------------------------------------------------------
# Where tfjs-node's dist/index.js loads it from (node-pre-gyp picks the N-API version).
addon="$(cd "$tfjs_node" && node -p 'require(require.resolve("@mapbox/node-pre-gyp")).find(require("path").resolve("package.json"))')"
# An N-API addon does not depend on the Node.js version: one build per wheel variant and
# tfjs-node version, kept in the cache, serves every later run (steps 6 and 7 still check it).
cached_addon="$cache/addon/$variant/$(basename "$PKG")-$TFJS_NODE_VERSION-$(basename "$(dirname "$addon")")/tfjs_binding.node"
if [[ $rebuild == 0 && -f "$cached_addon" ]]; then
  mkdir -p "$(dirname "$addon")"
  cp "$cached_addon" "$addon"
  say "5/$steps addon: $cached_addon (cached; --rebuild builds it again)"
else
  say "5/$steps building the addon (node-pre-gyp --build-from-source, Node.js headers from $nodedir) ..."
  t="$(now)"
  pre_gyp="$(cd "$tfjs_node" && node -p 'require.resolve("@mapbox/node-pre-gyp/bin/node-pre-gyp")')"
  build_log="$cache/addon-build.log"
  if ! (cd "$tfjs_node" && node "$pre_gyp" install --build-from-source --nodedir="$nodedir") >"$build_log" 2>&1; then
    tail -n 30 "$build_log" >&2
    die "building the $PKG addon failed (last lines above, full log: $build_log)."
  fi
  [[ -f "$addon" ]] || die "the build finished but $addon is missing (log: $build_log)."
  mkdir -p "$(dirname "$cached_addon")"
  cp "$addon" "$cached_addon.partial" && mv "$cached_addon.partial" "$cached_addon"
  say "    built $addon in $(($(now) - t)) s"
fi

# ---- 6. symbols ---------------------------------------------------------------------------
# The addon is a shared object, so undefined symbols link fine and would only fail at load
# time: check that the libraries define every TF_*/TFE_* function the addon imports.
needed="$(nm -D --undefined-only "$addon" | awk '{print $NF}' | sed 's/@.*//' | grep -E '^TFE?_' | sort -u)"
exported="$(nm -D --defined-only "$deps/lib/libtensorflow_cc.so.2" "$deps/lib/libtensorflow_framework.so.2" |
  awk 'NF >= 3 {print $3}' | sed 's/@.*//' | grep -E '^TFE?_' | sort -u)"
missing="$(comm -23 <(echo "$needed") <(echo "$exported"))"
[[ -n "$needed" ]] || die "the addon imports no TF_*/TFE_* symbol: $addon is not the binding expected."
[[ -z "$missing" ]] || die "the wheel's libraries do not export $(echo "$missing" | wc -l) symbol(s) the addon needs: $(echo "$missing" | tr '\n' ' ')- use TensorFlow $TF_VERSION."
say "6/$steps symbols: the libraries export all $(echo "$needed" | wc -l) TF_*/TFE_* functions the addon imports"

# ---- 7 (--gpu). the CUDA libraries, opened by TensorFlow's own loader ----------------------
if [[ $gpu == 1 ]]; then
  say "7/$steps CUDA libraries: TensorFlow's TryDlopenCUDALibraries() and cuDNN's lazy loads, from deps/nvidia ..."
  t="$(now)"
  python3 "$helper" check "$deps/lib/libtensorflow_framework.so.2" "$deps" ||
    die "the CUDA library layout is incomplete (message above): TensorFlow would register no GPU."
  gpu_library_path="$(python3 "$helper" lib-dirs "$deps")"
  say "    passed in $(($(now) - t)) s"
fi

# ---- smoke test ------------------------------------------------------------------------------
say "$steps/$steps smoke test: initTfBackend (SIMPAIR_TF_BACKEND=$BACKEND_CHOICE), matMul, a tiny LSTM fit ..."
t="$(now)"
(cd "$root" && SIMPAIR_TF_BACKEND=$BACKEND_CHOICE PKG="$PKG" SIMPAIR_LOG_LEVEL=silent TF_CPP_MIN_LOG_LEVEL=2 LD_LIBRARY_PATH="${gpu_library_path:-${LD_LIBRARY_PATH:-}}" node --import tsx --input-type=module -e '
  const tf = await import("@tensorflow/tfjs-core");
  const tfl = await import("@tensorflow/tfjs-layers");
  const { initTfBackend } = await import("./src/classifier/tf-backend.ts");
  const info = await initTfBackend();
  if (info.backend !== "tensorflow" || tf.getBackend() !== "tensorflow") throw new Error(`backend is ${tf.getBackend()}`);
  if (info.package !== process.env.PKG) throw new Error(`initTfBackend loaded ${info.package}, not ${process.env.PKG}`);
  const product = Array.from(await tf.matMul(tf.tensor2d([[1, 2], [3, 4]]), tf.tensor2d([[5], [6]])).data());
  if (product.join() !== "17,39") throw new Error(`matMul gave ${product}`);
  const model = tfl.sequential({ layers: [tfl.layers.lstm({ units: 4, inputShape: [3, 2] }), tfl.layers.dense({ units: 1, activation: "sigmoid" })] });
  model.compile({ optimizer: "adam", loss: "binaryCrossentropy" });
  const x = tf.randomNormal([16, 3, 2], 0, 1, "float32", 1);
  const y = tf.cast(tf.greater(tf.sum(x, [1, 2]), 0), "float32").reshape([16, 1]);
  const history = await model.fit(x, y, { epochs: 2, batchSize: 8, verbose: 0 });
  const losses = history.history.loss.map(Number);
  if (losses.length !== 2 || !losses.every(Number.isFinite)) throw new Error(`LSTM fit losses ${losses}`);
  console.log(`[tensorflow-backend]     ${info.package}@${info.version} on TensorFlow ${tf.backend().binding?.TF_Version ?? "(version unknown)"}: matMul ok, LSTM fit losses ${losses.map((l) => l.toFixed(4)).join(", ")}`);
') || die "the smoke test failed (message above): the addon built but does not work; run again with --no-strip, or report the message."
say "    passed in $(($(now) - t)) s"
if [[ $gpu == 1 ]]; then
  say "done in $(($(now) - started)) s: initTfBackend() now picks $PKG first (SIMPAIR_TF_BACKEND=node-gpu forces it). On a machine with an NVIDIA GPU, run with"
  say "  LD_LIBRARY_PATH=$gpu_library_path"
  say "so TensorFlow finds the CUDA libraries; without it (or without a GPU) it runs on the CPU. Re-run this script after every 'npm ci'."
else
  say "done in $(($(now) - started)) s: initTfBackend() now picks the tensorflow backend (SIMPAIR_TF_BACKEND=node forces it). Re-run this script after every 'npm ci'."
fi
