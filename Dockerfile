# mnconv as a small container image: a static binary (no cgo) on distroless
# static, for the Kubernetes Indexed Job in deploy/k8s and any CI runner.
#
#   docker build -t mnconv:dev --build-arg VERSION=$(git rev-parse HEAD) .
#   docker run --rm -v $PWD/data:/data mnconv:dev eval /data/model.tflite --images /data/eval
#
# Every shard of one evaluation must run the same image: partial results
# carry the build's VERSION and mnconv merge refuses parts of other builds.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath \
    -ldflags "-s -w -X github.com/mnconv/mnconv/internal/shard.Version=${VERSION}" \
    -o /out/mnconv ./cmd/mnconv

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/mnconv /usr/local/bin/mnconv
USER nonroot:nonroot
ENTRYPOINT ["/usr/local/bin/mnconv"]
