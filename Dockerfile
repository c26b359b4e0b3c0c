ARG ARCH="amd64"
ARG OS="linux"
FROM quay.io/prometheus/busybox-${OS}-${ARCH}:latest
LABEL maintainer="The utmstack_exporter authors"
LABEL org.opencontainers.image.source="https://github.com/utmstack/utmstack_exporter"

ARG ARCH="amd64"
ARG OS="linux"
COPY .build/${OS}-${ARCH}/utmstack_exporter /bin/utmstack_exporter
# The password comes from UTMSTACK_PASSWORD; mount your own configuration
# over this one (README, Install).
COPY examples/docker/utmstack.yml /etc/utmstack_exporter/utmstack.yml
COPY LICENSE /LICENSE

EXPOSE      9850
USER        nobody
ENTRYPOINT  [ "/bin/utmstack_exporter" ]
CMD         [ "--config.file=/etc/utmstack_exporter/utmstack.yml" ]
