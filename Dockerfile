# Multi-stage build of ezoned and ezctl on Debian bookworm.
#   docker build -t ezone .
#   docker run --rm --network host -v "$PWD/config/examples/laptop:/etc/ezone:ro" \
#       -v ezone-data:/var/lib/ezone ezone --config /etc/ezone/bj.toml
# The mounted config must set node.data_dir to a path under /var/lib/ezone
# (or another mounted volume) and bind addresses that exist in the container.

FROM debian:bookworm AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      g++ cmake make libcaf-dev libboost-dev libboost-system-dev libspdlog-dev libfmt-dev \
      libtomlplusplus-dev nlohmann-json3-dev libcereal-dev liblmdb-dev libsqlite3-dev libssl-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cmake -S . -B /build -DCMAKE_BUILD_TYPE=Release -DEZONE_BUILD_TESTS=OFF \
 && cmake --build /build -j"$(nproc)" --target ezoned ezctl

FROM debian:bookworm-slim
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libcaf-core0.17 libcaf-io0.17 libboost-system1.74.0 libspdlog1.10 libfmt9 \
      libtomlplusplus3 liblmdb0 libsqlite3-0 libssl3 \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --home /var/lib/ezone ezone \
 && mkdir -p /var/lib/ezone && chown ezone /var/lib/ezone
COPY --from=build /build/tools/ezoned /build/tools/ezctl /usr/local/bin/
USER ezone
VOLUME ["/var/lib/ezone"]
ENTRYPOINT ["/usr/local/bin/ezoned"]
CMD ["--config", "/etc/ezone/ezoned.toml"]
