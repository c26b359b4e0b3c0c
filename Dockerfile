ARG ARCH="amd64"
ARG OS="linux"
FROM quay.io/prometheus/busybox-${OS}-${ARCH}:latest
LABEL maintainer="The utmstack_exporter authors"
LABEL org.opencontainers.image.source="https://github.com/utmstack/utmstack_exporter"

ARG ARCH="amd64"
ARG OS="linux"
COPY .build/${OS}-${ARCH}/utmstack_exporter /bin/utmstack_exporter
COPY examples/utmstack.yml /etc/utmstack_exporter/utmstack.yml

EXPOSE      9850
USER        nobody
ENTRYPOINT  [ "/bin/utmstack_exporter" ]
CMD         [ "--config.file=/etc/utmstack_exporter/utmstack.yml" ]
