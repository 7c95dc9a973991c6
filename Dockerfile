# A small image with a static retain binary, tagged with the DAG's RETAIN_VERSION:
# docker build -t ghcr.io/example/retain:0.1.0 .
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/retain ./cmd/retain

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/retain /usr/local/bin/retain
# Only the job that reads the mounted /data/input and writes /data/output; the
# sample job's paths exist only in a checkout after `make run`. No VOLUME:
# Docker would put an anonymous volume where nothing is mounted, and a run
# without its output folder would write the tables there and exit 0 instead of
# failing (as the nonroot user it cannot create /data).
COPY jobs/container.yaml /jobs/container.yaml
ENTRYPOINT ["/usr/local/bin/retain"]
