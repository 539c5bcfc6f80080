# Herald in a container: `docker build -t herald .`, then
#   docker run -p 8080:8080 -v herald-data:/var/lib/herald \
#       -e HERALD_JWT_SECRET="$(openssl rand -hex 32)" herald
# (docs/OPERATIONS.md "The container"). Not built by `make test` or CI: they have no Docker
# daemon; scripts/test-package.sh checks this file against the binary and the package instead.

# ---- build: the release binary, from Debian 12's own packages -----------------------------------
FROM debian:12 AS build
# The build packages of scripts/install-deps.sh that the herald target needs (no tests, no bench).
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      build-essential cmake ninja-build pkg-config \
      libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev \
      libsqlite3-dev libpq-dev libssl-dev libjwt-dev \
      libspdlog-dev libfmt-dev libcli11-dev libtomlplusplus-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY CMakeLists.txt CMakePresets.json ./
COPY src src
COPY web web
COPY docs/openapi.json docs/openapi.json
RUN cmake --preset release -DHERALD_BUILD_TESTS=OFF -DHERALD_BUILD_BENCH=OFF \
 && cmake --build build --target herald \
 && strip --strip-unneeded build/herald \
 && build/herald --version

# ---- runtime: the binary, the shared libraries it needs, a user of its own ----------------------
FROM debian:12-slim
# Exactly the Depends of the Debian package (dpkg-shlibdeps on the binary), versions aside;
# scripts/test-package.sh fails when the two differ.
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libboost-json1.81.0 libboost-url1.81.0 libc6 libfmt9 libgcc-s1 libjwt0 libpq5 \
      libspdlog1.10-fmt9 libsqlite3-0 libssl3 libstdc++6 libtomlplusplus3 \
 && rm -rf /var/lib/apt/lists/*
RUN groupadd --system --gid 10001 herald \
 && useradd --system --uid 10001 --gid herald --home-dir /var/lib/herald --no-create-home \
      --shell /usr/sbin/nologin herald \
 && install -d -o herald -g herald -m 0700 /var/lib/herald
COPY --from=build /src/build/herald /usr/bin/herald
# Every option of `herald serve` has its HERALD_* variable; these two suit a container. Change
# the port through HERALD_LISTEN (not --listen), which the health check below reads.
ENV HERALD_LISTEN=0.0.0.0:8080 \
    HERALD_DATA_DIR=/var/lib/herald
VOLUME /var/lib/herald
EXPOSE 8080
# The image has neither curl nor wget: bash's /dev/tcp asks /health and wants a 200.
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 \
  CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/${HERALD_LISTEN##*:} && printf 'GET /health HTTP/1.0\\r\\n\\r\\n' >&3 && head -n 1 <&3 | grep -q ' 200 '"]
# Numeric, so that a runtime that refuses root (runAsNonRoot) can tell.
USER 10001:10001
# SIGTERM drains (streams are told to come back, acknowledged events are stored), exit 0.
STOPSIGNAL SIGTERM
ENTRYPOINT ["herald", "serve"]
