# A small image with a static retain binary: docker build -t retain .
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/retain ./cmd/retain

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/retain /usr/local/bin/retain
COPY jobs/ /jobs/
ENTRYPOINT ["/usr/local/bin/retain"]
