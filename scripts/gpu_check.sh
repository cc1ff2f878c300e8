#!/usr/bin/env bash
# The CuPy path on a real GPU, in one go.  Run from anywhere on a machine with an NVIDIA GPU:
#
#     bash scripts/gpu_check.sh                 # results in runs/gpu_check/
#     GPU_CHECK_OUT=/some/dir bash scripts/gpu_check.sh
#
# 1. installs CuPy for the local CUDA (skipped when CuPy already imports) and autograd (skipped when
#    it imports; from ./.whl/autograd-*.whl when such a wheel is there, for machines without an index);
# 2. runs the tests marked `gpu` (component gradients, training runs, the backend switch);
# 3. compares CuPy with NumPy, in float64, on the outputs and gradients of every registered
#    gradient-check case: relative error <= 1e-10 (written to gradients.txt);
# 4. runs `python -m benchmarks.bench` on both backends (bench_numpy.json, bench_cupy.json) and prints
#    CuPy's speed-up over NumPy per size (target: >= 10x at the large size).
# Exits non-zero if a step fails.  PYTHON selects the interpreter (default python3); BENCH_ARGS adds
# options to both benchmark runs (e.g. BENCH_ARGS="--repeats 3").
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
OUT_DIR=${GPU_CHECK_OUT:-runs/gpu_check}
mkdir -p "$OUT_DIR"
status=0
step() { echo; echo "== $*"; }

step "installing what is missing"
if ! $PY -c "import cupy" 2>/dev/null; then
    # the driver's CUDA major version picks the wheel: cupy-cuda12x, cupy-cuda13x, ...
    cuda=$(nvidia-smi 2>/dev/null | sed -n 's/.*CUDA Version: *\([0-9][0-9]*\)\..*/\1/p' | head -n 1)
    if [ -z "$cuda" ]; then
        echo "gpu_check: no NVIDIA driver answers (nvidia-smi); this script needs a CUDA GPU" >&2
        exit 2
    fi
    $PY -m pip install "cupy-cuda${cuda}x" || { echo "gpu_check: could not install cupy-cuda${cuda}x" >&2; exit 2; }
else
    echo "cupy already installed"
fi
if ! $PY -c "import autograd" 2>/dev/null; then
    wheel=$(ls .whl/autograd-*.whl 2>/dev/null | head -n 1)
    if [ -n "$wheel" ]; then
        site=${TMPDIR:-/tmp}/mini_eau_site
        $PY -m pip install -q --no-index --no-deps --target "$site" "$wheel" || exit 2
        export PYTHONPATH="$site${PYTHONPATH:+:$PYTHONPATH}"
    else
        $PY -m pip install autograd || exit 2
    fi
else
    echo "autograd already installed"
fi

step "device"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null || true
$PY -c "
import cupy, numpy
p = cupy.cuda.runtime.getDeviceProperties(0)
print('cupy', cupy.__version__, '| CUDA runtime', cupy.cuda.runtime.runtimeGetVersion(), '| numpy', numpy.__version__,
      '|', p['name'].decode() if isinstance(p['name'], bytes) else p['name'])
" || { echo "gpu_check: CuPy cannot use the GPU" >&2; exit 2; }

step "tests marked gpu"
$PY -m pytest -q -m gpu -o addopts="" -p no:cacheprovider --continue-on-collection-errors tests/ 2>&1 | tee "$OUT_DIR/pytest_gpu.txt" || status=1

step "CuPy vs NumPy: outputs and gradients of every registered gradient-check case (float64)"
$PY -c "
import sys
sys.path[:0] = ['tests', '.']
import test_gpu
sys.exit(test_gpu.report('$OUT_DIR/gradients.txt'))
" || status=1

step "benchmark, NumPy backend (this machine's CPUs)"
$PY -m benchmarks.bench --backend numpy --json "$OUT_DIR/bench_numpy.json" ${BENCH_ARGS:-} || status=1
step "benchmark, CuPy backend"
$PY -m benchmarks.bench --backend cupy --json "$OUT_DIR/bench_cupy.json" ${BENCH_ARGS:-} || status=1

step "CuPy over NumPy, one hand-derived training step"
$PY - "$OUT_DIR" <<'EOF' || status=1
import json, os, sys
d = sys.argv[1]
cpu = json.load(open(os.path.join(d, "bench_numpy.json")))
gpu = json.load(open(os.path.join(d, "bench_cupy.json")))
print(f"GPU: {gpu['machine'].get('gpu')}; CPU: {cpu['machine'].get('cpu')} x {cpu['machine']['cpu_count']}")
ok = True
for size in gpu["sizes"]:
    t_cpu, t_gpu = cpu["sizes"][size]["median_s"]["hand"], gpu["sizes"][size]["median_s"]["hand"]
    line = f"{size:6s} numpy {t_cpu * 1e3:9.3f} ms   cupy {t_gpu * 1e3:9.3f} ms   speed-up {t_cpu / t_gpu:7.1f}x"
    if size == "large":
        met = t_cpu / t_gpu >= 10
        ok &= met
        line += "   (target >= 10x: " + ("met" if met else "MISSED") + ")"
    print(line)
json.dump({s: cpu["sizes"][s]["median_s"]["hand"] / gpu["sizes"][s]["median_s"]["hand"] for s in gpu["sizes"]},
          open(os.path.join(d, "speedup.json"), "w"), indent=1)
EOF

echo
if [ $status -eq 0 ]; then echo "gpu_check: all steps passed"; else echo "gpu_check: a step FAILED (see above)"; fi
exit $status
