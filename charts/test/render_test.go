// Package charttest renders the utmstack-exporter chart with helm and holds
// what comes out to the real API types: every object decodes strictly (no
// unknown or duplicate field, field names case-sensitive, as the API server
// decodes) into its k8s.io/api or prometheus-operator type, and its metadata
// passes the API server's own ObjectMeta validation. The other tests of the
// package check what the objects say.
//
// Run it with make chart-test, which builds the pinned helm and passes its
// path in HELM.
package charttest

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	sigsjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

const (
	chartDir  = "../utmstack-exporter"
	release   = "utmstack-exporter"
	namespace = "monitoring"
)

// valuesCase is one way to install the chart.
type valuesCase struct {
	name   string
	values string   // a file of values/, or "" for the chart's defaults
	set    []string // --set arguments
	// The kinds rendered, by name.
	want map[string]string
}

var cases = []valuesCase{
	{
		name: "defaults",
		want: map[string]string{
			"utmstack-exporter": "ConfigMap Deployment Service",
		},
	},
	{
		name:   "existing-secret",
		values: "values/existing-secret.yaml",
		want: map[string]string{
			"utmstack-exporter": "ConfigMap Deployment Service",
		},
	},
	{
		name:   "probe-sharded",
		values: "values/probe-sharded.yaml",
		want: map[string]string{
			"utmstack-exporter":       "ConfigMap Service ServiceMonitor StatefulSet",
			"utmstack-exporter-probe": "ServiceMonitor",
		},
	},
	{
		name:   "everything",
		values: "values/everything.yaml",
		want: map[string]string{
			"utmstack":           "ConfigMap PrometheusRule Secret Service ServiceMonitor StatefulSet",
			"utmstack-probe":     "ServiceMonitor",
			"utmstack-dashboard": "ConfigMap",
		},
	},
	{
		name: "rules-and-dashboard-by-default",
		set:  []string{"prometheusRule.enabled=true", "dashboard.enabled=true", "secret.files.password=not-a-real-password"},
		want: map[string]string{
			"utmstack-exporter":           "ConfigMap Deployment PrometheusRule Secret Service",
			"utmstack-exporter-dashboard": "ConfigMap",
		},
	},
}

// object is one rendered document, decoded into its API type.
type object struct {
	Kind, Name, Namespace string
	Value                 any
}

// render runs helm template for one case and decodes every document.
func render(t *testing.T, c valuesCase) []object {
	t.Helper()
	helm := os.Getenv("HELM")
	if helm == "" {
		t.Fatal("HELM is not set: run make chart-test, which builds the pinned helm")
	}
	args := []string{"template", release, chartDir, "--namespace", namespace}
	if c.values != "" {
		args = append(args, "--values", c.values)
	}
	for _, s := range c.set {
		args = append(args, "--set", s)
	}
	cmd := exec.Command(helm, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("helm %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return decodeAll(t, out)
}

// newObject returns a pointer to the API type of apiVersion and kind.
func newObject(apiVersion, kind string) (any, bool) {
	switch apiVersion + " " + kind {
	case "v1 ConfigMap":
		return &corev1.ConfigMap{}, true
	case "v1 Secret":
		return &corev1.Secret{}, true
	case "v1 Service":
		return &corev1.Service{}, true
	case "apps/v1 Deployment":
		return &appsv1.Deployment{}, true
	case "apps/v1 StatefulSet":
		return &appsv1.StatefulSet{}, true
	case "monitoring.coreos.com/v1 ServiceMonitor":
		return &monitoringv1.ServiceMonitor{}, true
	case "monitoring.coreos.com/v1 PrometheusRule":
		return &monitoringv1.PrometheusRule{}, true
	}
	return nil, false
}

func decodeAll(t *testing.T, rendered []byte) []object {
	t.Helper()
	reader := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(rendered)))
	var objects []object
	for {
		doc, err := reader.Read()
		if err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			t.Fatalf("splitting the rendered documents: %v", err)
		}
		// YAMLToJSONStrict refuses duplicate keys.
		data, err := yaml.YAMLToJSONStrict(doc)
		if err != nil {
			t.Fatalf("rendered YAML: %v\n%s", err, doc)
		}
		if string(data) == "null" {
			continue // a document of comments only
		}
		var meta metav1.TypeMeta
		if err := sigsjson.UnmarshalCaseSensitivePreserveInts(data, &meta); err != nil {
			t.Fatalf("rendered object: %v\n%s", err, doc)
		}
		value, ok := newObject(meta.APIVersion, meta.Kind)
		if !ok {
			t.Fatalf("rendered an object of no expected type: %s %s\n%s", meta.APIVersion, meta.Kind, doc)
		}
		strict, err := sigsjson.UnmarshalStrict(data, value)
		if err != nil {
			t.Fatalf("%s: %v\n%s", meta.Kind, err, doc)
		}
		for _, e := range strict {
			t.Errorf("%s: %v", meta.Kind, e)
		}
		accessor, ok := value.(metav1.ObjectMetaAccessor)
		if !ok {
			t.Fatalf("%s has no ObjectMeta", meta.Kind)
		}
		objMeta := accessor.GetObjectMeta().(*metav1.ObjectMeta)
		for _, e := range validation.ValidateObjectMeta(objMeta, true, validation.NameIsDNSSubdomain, field.NewPath("metadata")) {
			t.Errorf("%s %s: %v", meta.Kind, objMeta.Name, e)
		}
		objects = append(objects, object{Kind: meta.Kind, Name: objMeta.Name, Namespace: objMeta.Namespace, Value: value})
	}
	return objects
}

// find returns the rendered object of kind and name, or fails.
func find[T any](t *testing.T, objects []object, kind, name string) *T {
	t.Helper()
	for _, o := range objects {
		if o.Kind == kind && o.Name == name {
			v, ok := o.Value.(*T)
			if !ok {
				t.Fatalf("%s %s is a %T", kind, name, o.Value)
			}
			return v
		}
	}
	t.Fatalf("no %s %s rendered", kind, name)
	return nil
}

func caseNamed(t *testing.T, name string) valuesCase {
	t.Helper()
	for _, c := range cases {
		if c.name == name {
			return c
		}
	}
	t.Fatalf("no case %q", name)
	return valuesCase{}
}

// Each case renders exactly the objects it should, each valid for its type.
func TestRenderedObjectsAreValidAPIObjects(t *testing.T) {
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := map[string][]string{}
			for _, o := range render(t, c) {
				got[o.Name] = append(got[o.Name], o.Kind)
				wantNamespace := namespace
				if strings.HasSuffix(o.Name, "-dashboard") && c.name == "everything" {
					wantNamespace = "grafana"
				}
				if o.Namespace != wantNamespace {
					t.Errorf("%s %s: namespace %q, want %q", o.Kind, o.Name, o.Namespace, wantNamespace)
				}
			}
			for name, kinds := range got {
				slices.Sort(kinds)
				if want := c.want[name]; strings.Join(kinds, " ") != want {
					t.Errorf("%s: rendered %v, want %q", name, kinds, want)
				}
			}
			for name, want := range c.want {
				if _, ok := got[name]; !ok {
					t.Errorf("%s: not rendered, want %s", name, want)
				}
			}
		})
	}
}

// podSpec returns the workload's pod template, Deployment or StatefulSet.
func podSpec(t *testing.T, objects []object) (string, int32, corev1.PodTemplateSpec) {
	t.Helper()
	for _, o := range objects {
		switch w := o.Value.(type) {
		case *appsv1.Deployment:
			return o.Name, *w.Spec.Replicas, w.Spec.Template
		case *appsv1.StatefulSet:
			return o.Name, *w.Spec.Replicas, w.Spec.Template
		}
	}
	t.Fatal("no Deployment or StatefulSet rendered")
	return "", 0, corev1.PodTemplateSpec{}
}

func container(t *testing.T, pod corev1.PodTemplateSpec) corev1.Container {
	t.Helper()
	if len(pod.Spec.Containers) != 1 {
		t.Fatalf("%d containers, want 1", len(pod.Spec.Containers))
	}
	return pod.Spec.Containers[0]
}
