package charttest

import (
	"bytes"
	"os"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// Helm reads no file outside the chart, so the chart carries copies of the
// shipped rules and dashboard; examples/ is where they are edited.
func TestChartFilesAreTheShippedExamples(t *testing.T) {
	for copyPath, source := range map[string]string{
		chartDir + "/files/alerts.yml":    "../../examples/prometheus/alerts.yml",
		chartDir + "/files/utmstack.json": "../../examples/grafana/utmstack.json",
	} {
		got, err := os.ReadFile(copyPath)
		if err != nil {
			t.Fatal(err)
		}
		want, err := os.ReadFile(source)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from %s: run make chart-sync", strings.TrimPrefix(copyPath, "../"), strings.TrimPrefix(source, "../../"))
		}
	}
}

// The image tag defaults to the chart's appVersion: the exporter's version.
func TestChartAppVersionIsTheExportersVersion(t *testing.T) {
	data, err := os.ReadFile(chartDir + "/Chart.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var chart struct {
		AppVersion string `json:"appVersion"`
	}
	if err := yaml.Unmarshal(data, &chart); err != nil {
		t.Fatal(err)
	}
	version, err := os.ReadFile("../../VERSION")
	if err != nil {
		t.Fatal(err)
	}
	if want := strings.TrimSpace(string(version)); chart.AppVersion != want {
		t.Errorf("Chart.yaml appVersion %q, VERSION %q", chart.AppVersion, want)
	}
}

// The dashboard ConfigMap holds the shipped dashboard as it is, labelled
// for Grafana's sidecar.
func TestDashboardConfigMapIsTheShippedDashboard(t *testing.T) {
	want, err := os.ReadFile("../../examples/grafana/utmstack.json")
	if err != nil {
		t.Fatal(err)
	}
	cm := find[corev1.ConfigMap](t, render(t, caseNamed(t, "everything")), "ConfigMap", "utmstack-dashboard")
	if got := cm.Data["utmstack.json"]; got != strings.TrimSuffix(string(want), "\n") {
		t.Errorf("the dashboard ConfigMap's utmstack.json (%d bytes) is not examples/grafana/utmstack.json (%d bytes)", len(got), len(want))
	}
	if cm.Labels["grafana_dashboard"] != "1" || cm.Annotations["grafana_folder"] != "UTMStack" {
		t.Errorf("labels %v, annotations %v: want grafana_dashboard \"1\" and the folder annotation given", cm.Labels, cm.Annotations)
	}
}
