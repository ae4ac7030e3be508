# syntax=docker/dockerfile:1
#
# riptide-poold container image.
#
#   docker build --build-arg VERSION=$(git describe --tags --always --dirty) -t riptide-poold .
#   docker run --rm --read-only -p 50051:50051 -p 9090:9090 \
#     --mount type=tmpfs,destination=/var/cache/riptide-poold riptide-poold
#
# The build stage runs the very `make build` that CI runs: it builds the
# bundled WASM module (scripts/build-guest.sh) and then the daemon with it
# embedded. The final stage holds nothing but that static binary, so there is
# no shell, package manager or libc to patch.
#
# The image runs as a numeric non-root user (Kubernetes' runAsNonRoot can
# verify it) and writes nowhere but WASM_COMPILATION_CACHE_DIR, which a
# deployment mounts as a writable volume so the root filesystem can be
# read-only. There is no HEALTHCHECK: the daemon serves grpc.health.v1, which
# Kubernetes' native gRPC probes call (see deploy/kubernetes).
#
# BINARY_SOURCE chooses where the binary comes from:
#
#   build     (the default) the build stage below compiles it with `make build`;
#   prebuilt  it is taken from bin/riptide-poold in the build context, as
#             `make build` left it (CGO_ENABLED=0, so it is static). This is
#             how CI builds the image without pulling anything:
#             `make image-check` runs `buildah bud --build-arg
#             BINARY_SOURCE=prebuilt` on a context holding only that binary,
#             and the unused build stage is skipped.
#
# Both sources feed one final stage, so the image CI checks is the image
# users build, less the compiler that made its binary.
#
# deploy/dockerfile_test.go checks the rules this file keeps, and
# scripts/image-check.sh builds, inspects and starts the image.

ARG BINARY_SOURCE=build

# The Go release of go.mod's toolchain directive, which make uses too;
# Dependabot-style bumps change both together.
ARG GO_VERSION=1.27.3

FROM golang:${GO_VERSION}-bookworm AS build
WORKDIR /src
# A static binary: the final stage has no libc.
ENV CGO_ENABLED=0 \
    GOFLAGS=-mod=readonly
# Modules first, so that a source change reuses the download layer.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod \
    go mod download
COPY . .
ARG VERSION=dev
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    make build VERSION="${VERSION}"
# The compilation cache's mount point, owned by the runtime user so the image
# also works without a volume (on a writable root filesystem).
RUN mkdir -p /out/var/cache/riptide-poold

# The binary from the build context: bin/riptide-poold as `make build`
# wrote it. A stage without RUN needs no base image; WORKDIR makes the cache
# directory that the build stage makes with mkdir.
FROM scratch AS prebuilt
COPY bin/riptide-poold /src/bin/riptide-poold
WORKDIR /out/var/cache/riptide-poold

# The stage BINARY_SOURCE names: COPY --from cannot expand an ARG, FROM can.
FROM ${BINARY_SOURCE} AS binary

FROM scratch
ARG VERSION=dev
ARG REVISION=unknown
LABEL org.opencontainers.image.title="riptide-poold" \
      org.opencontainers.image.description="gRPC HTML extraction daemon with warm pools of native and WebAssembly extractors" \
      org.opencontainers.image.source="https://github.com/riptidecrawler/riptide-poold" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.base.name="scratch"
COPY --from=binary /src/bin/riptide-poold /riptide-poold
COPY --from=binary --chown=65532:65532 /out/var/cache/riptide-poold /var/cache/riptide-poold
ENV GRPC_ADDR=:50051 \
    METRICS_ADDR=:9090 \
    WASM_COMPILATION_CACHE_DIR=/var/cache/riptide-poold \
    LOG_FORMAT=json
USER 65532:65532
EXPOSE 50051 9090
ENTRYPOINT ["/riptide-poold"]
