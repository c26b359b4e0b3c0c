package charttest

import (
	"fmt"
	"os"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/relabel"
	"go.yaml.in/yaml/v3"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

// prometheusRelabel turns the operator's relabelling into the one
// Prometheus runs, with Prometheus' defaults for what is left out.
func prometheusRelabel(t *testing.T, rcs []monitoringv1.RelabelConfig) []*relabel.Config {
	t.Helper()
	var out []*relabel.Config
	for _, rc := range rcs {
		c := relabel.DefaultRelabelConfig
		if rc.Action != "" {
			c.Action = relabel.Action(strings.ToLower(rc.Action))
		}
		for _, l := range rc.SourceLabels {
			c.SourceLabels = append(c.SourceLabels, model.LabelName(l))
		}
		if rc.Separator != nil {
			c.Separator = *rc.Separator
		}
		if rc.Regex != "" {
			re, err := relabel.NewRegexp(rc.Regex)
			if err != nil {
				t.Fatalf("relabelling regex %q: %v", rc.Regex, err)
			}
			c.Regex = re
		}
		c.Modulus = uint64(rc.Modulus)
		c.TargetLabel = rc.TargetLabel
		if rc.Replacement != nil {
			c.Replacement = *rc.Replacement
		}
		if err := c.Validate(model.UTF8Validation); err != nil {
			t.Fatalf("relabelling %+v: %v", rc, err)
		}
		out = append(out, &c)
	}
	return out
}

// exampleShard is the shard examples/prometheus/probe-sharded.yml gives a
// target: the replica number in the address it rewrites.
func exampleShard(t *testing.T, target string) string {
	t.Helper()
	data, err := os.ReadFile("../../examples/prometheus/probe-sharded.yml")
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		ScrapeConfigs []struct {
			JobName        string            `yaml:"job_name"`
			RelabelConfigs []*relabel.Config `yaml:"relabel_configs"`
		} `yaml:"scrape_configs"`
	}
	if err := yaml.Unmarshal(data, &cfg); err != nil {
		t.Fatal(err)
	}
	for _, sc := range cfg.ScrapeConfigs {
		if sc.JobName != "utmstack_probe" {
			continue
		}
		for _, c := range sc.RelabelConfigs {
			if err := c.Validate(model.UTF8Validation); err != nil {
				t.Fatal(err)
			}
		}
		lb := labels.NewBuilder(labels.FromStrings(model.AddressLabel, target))
		if !relabel.ProcessBuilder(lb, sc.RelabelConfigs...) {
			t.Fatalf("probe-sharded.yml drops target %q", target)
		}
		host, _, _ := strings.Cut(lb.Get(model.AddressLabel), ".")
		return strings.TrimPrefix(host, "utmstack-exporter-")
	}
	t.Fatal("probe-sharded.yml has no job utmstack_probe")
	return ""
}

// With 3 replicas each probe target is scraped on exactly one pod, the one
// examples/prometheus/probe-sharded.yml (3 replicas too) sends it to, with
// job utmstack_probe and the target's name as instance.
func TestProbeShardingScrapesEachTargetOnOnePod(t *testing.T) {
	objects := render(t, caseNamed(t, "probe-sharded"))
	name, replicas, _ := podSpec(t, objects)
	if replicas != 3 {
		t.Fatalf("%d replicas, want 3", replicas)
	}
	sm := find[monitoringv1.ServiceMonitor](t, objects, "ServiceMonitor", "utmstack-exporter-probe")
	if len(sm.Spec.Endpoints) != 4 {
		t.Fatalf("%d probe endpoints, want one for each of the 4 targets", len(sm.Spec.Endpoints))
	}
	pods := make([]string, replicas)
	for i := range pods {
		pods[i] = fmt.Sprintf("%s-%d", name, i)
	}
	for _, ep := range sm.Spec.Endpoints {
		target := ep.Params["target"]
		if ep.Path != "/probe" || len(target) != 1 {
			t.Errorf("endpoint %s with target %v, want /probe with one", ep.Path, target)
			continue
		}
		kept := podsKeeping(t, prometheusRelabel(t, ep.RelabelConfigs), pods, target[0])
		if len(kept) != 1 {
			t.Errorf("target %s is scraped on pods %v, want one", target[0], kept)
			continue
		}
		if want := exampleShard(t, target[0]); fmt.Sprint(kept[0]) != want {
			t.Errorf("target %s goes to pod %d; probe-sharded.yml sends it to replica %s", target[0], kept[0], want)
		}
	}
	// Every replica gets a share of many targets.
	rcs := prometheusRelabel(t, sm.Spec.Endpoints[0].RelabelConfigs)
	share := make([]int, replicas)
	for i := range 300 {
		for _, pod := range podsKeeping(t, rcs, pods, fmt.Sprintf("customer-%d", i)) {
			share[pod]++
		}
	}
	for pod, n := range share {
		if n < 50 {
			t.Errorf("pod %d gets %d of 300 targets (shares %v)", pod, n, share)
		}
	}
}

// One replica, a Deployment, scrapes every target.
func TestProbeWithoutShardingKeepsEveryTarget(t *testing.T) {
	c := caseNamed(t, "probe-sharded")
	c.set = append(c.set, "replicas=1")
	objects := render(t, c)
	find[appsv1.Deployment](t, objects, "Deployment", "utmstack-exporter")
	if svc := find[corev1.Service](t, objects, "Service", "utmstack-exporter"); svc.Spec.ClusterIP == corev1.ClusterIPNone {
		t.Error("the Service is headless without a StatefulSet")
	}
	sm := find[monitoringv1.ServiceMonitor](t, objects, "ServiceMonitor", "utmstack-exporter-probe")
	for _, ep := range sm.Spec.Endpoints {
		target := ep.Params["target"][0]
		kept := podsKeeping(t, prometheusRelabel(t, ep.RelabelConfigs), []string{"utmstack-exporter-5d8f7c9b4-x2x7k"}, target)
		if len(kept) != 1 {
			t.Errorf("target %s is not scraped", target)
		}
	}
}

// podsKeeping returns the pods (by index in pods) on which Prometheus keeps
// the endpoint's target after relabelling, and checks its job and instance.
func podsKeeping(t *testing.T, rcs []*relabel.Config, pods []string, target string) []int {
	t.Helper()
	var kept []int
	for i, pod := range pods {
		lb := labels.NewBuilder(labels.FromStrings(
			model.AddressLabel, fmt.Sprintf("10.0.0.%d:9850", i),
			model.ParamLabelPrefix+"target", target,
			"__meta_kubernetes_pod_name", pod,
			model.JobLabel, "serviceMonitor/monitoring/utmstack-exporter-probe/0",
		))
		if !relabel.ProcessBuilder(lb, rcs...) {
			continue
		}
		kept = append(kept, i)
		if lb.Get(model.JobLabel) != "utmstack_probe" || lb.Get(model.InstanceLabel) != target {
			t.Errorf("target %s: job %q, instance %q; want utmstack_probe and %s", target, lb.Get(model.JobLabel), lb.Get(model.InstanceLabel), target)
		}
	}
	return kept
}
