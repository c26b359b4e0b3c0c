ARG ARCH="amd64"
ARG OS="linux"
FROM quay.io/prometheus/busybox-${OS}-${ARCH}:latest
LABEL maintainer="The utmstack_exporter authors"
# No org.opencontainers.image.source: the source repository is not
# published yet, and a label naming it would send scanners and readers to a
# page that does not exist. The runbook the alert rules link to ships inside.

ARG ARCH="amd64"
ARG OS="linux"
COPY .build/${OS}-${ARCH}/utmstack_exporter /bin/utmstack_exporter
# The password comes from UTMSTACK_PASSWORD; mount your own configuration
# over this one (README, Install).
COPY examples/docker/utmstack.yml /etc/utmstack_exporter/utmstack.yml
COPY LICENSE /LICENSE
COPY RUNBOOK.md /usr/share/doc/utmstack_exporter/RUNBOOK.md

EXPOSE      9850
USER        nobody
ENTRYPOINT  [ "/bin/utmstack_exporter" ]
CMD         [ "--config.file=/etc/utmstack_exporter/utmstack.yml" ]
