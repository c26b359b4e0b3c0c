#!/usr/bin/env bash
# Runs the exporter against the fake UTMStack with a generated alert set.
# Everything listens on loopback; Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."

dir=.demo
mkdir -p "$dir"
rm -f "$dir/fake.url"
password=demo-password

./.build/fake-utmstack --listen 127.0.0.1:9851 --password "$password" --ready-file "$dir/fake.url" &
fake_pid=$!
trap 'kill $fake_pid 2>/dev/null || true' EXIT INT TERM

for _ in $(seq 1 100); do [ -s "$dir/fake.url" ] && break; kill -0 $fake_pid || exit 1; sleep 0.1; done
[ -s "$dir/fake.url" ] || { echo "the fake UTMStack did not start" >&2; exit 1; }

cat > "$dir/utmstack.yml" <<YAML
# Written by scripts/demo.sh: the exporter pointed at the fake UTMStack.
utmstack:
  url: $(cat "$dir/fake.url")
  auth:
    username: prometheus
defaults:
  window: 7d
YAML

echo
echo "  Metrics:      http://127.0.0.1:9850/metrics"
echo "  Landing page: http://127.0.0.1:9850/"
echo "  Config:       $dir/utmstack.yml (password from UTMSTACK_PASSWORD)"
echo "  Stop with Ctrl-C."
echo
UTMSTACK_PASSWORD="$password" ./utmstack_exporter --config.file="$dir/utmstack.yml" --web.listen-address=127.0.0.1:9850 "$@"
