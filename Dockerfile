# A small runtime image of the demo server.
#   docker build -t conduit . && docker run -p 8000:8000 conduit
# Stage 1 builds wheels (compilers stay out of the runtime image); stage 2 installs
# them into a slim image, runs as a non-root user, and compiles every Numba kernel
# the demo needs at build time so containers start with a warm cache.

FROM python:3.11-slim AS build
WORKDIR /src
COPY kernels/ kernels/
COPY pyproject.toml README.md ./
COPY conduit/ conduit/
RUN pip wheel --no-cache-dir --wheel-dir /wheels ./kernels ".[ml,vector,workers]"
# The HTTP path's kernels compiled ahead of time (numba.pycc needs a C compiler, which stays
# in this stage): a hello server then runs without importing Numba (docs/deployment.md).
RUN apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev \
    && pip install --no-cache-dir /wheels/*.whl \
    && python -c "from conduit_kernels import aot_build; aot_build.build('/aot')"

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    NUMBA_CACHE_DIR=/home/conduit/.numba_cache
RUN useradd --create-home --uid 10001 conduit
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
WORKDIR /app
COPY --chown=conduit:conduit examples/ examples/
COPY --from=build --chown=conduit:conduit /aot/ /home/conduit/.numba_cache/
USER conduit
# Fill Numba's on-disk cache: compile every kernel the demo uses, now, not at first request
# (the app's warm-up covers the server's HTTP head scanner and the model input checks too).
# At run time the cache may be read-only (Kubernetes readOnlyRootFilesystem): conduit run
# then loads it through a copy under TMPDIR and says that nothing compiled.
# tests/examples/test_docker_warmup.py and tests/deploy/test_deployment_starts.py run this line.
RUN conduit build examples.demo:app --cache /home/conduit/.numba_cache
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health')"
CMD ["conduit", "run", "examples.demo:app", "--host", "0.0.0.0", "--port", "8000"]
