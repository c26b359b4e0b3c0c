package charttest

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// hardening pairs each directive of the systemd unit with what stands for it
// in the pod. The unit is read too: a directive dropped from it, or changed,
// shows here.
var hardening = []struct {
	directive string
	check     func(pod corev1.PodSpec, c corev1.Container) error
}{
	{"DynamicUser=yes", func(pod corev1.PodSpec, c corev1.Container) error {
		sc := pod.SecurityContext
		if sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || sc.RunAsUser == nil || *sc.RunAsUser == 0 {
			return errors.New("the pod does not run as a numeric non-root user with runAsNonRoot")
		}
		return nil
	}},
	{"NoNewPrivileges=yes", func(_ corev1.PodSpec, c corev1.Container) error {
		if sc := c.SecurityContext; sc == nil || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
			return errors.New("allowPrivilegeEscalation is not false")
		}
		if sc := c.SecurityContext; sc.Privileged != nil && *sc.Privileged {
			return errors.New("the container is privileged")
		}
		return nil
	}},
	{"CapabilityBoundingSet=", func(_ corev1.PodSpec, c corev1.Container) error {
		caps := c.SecurityContext.Capabilities
		if caps == nil || !slices.Equal(caps.Drop, []corev1.Capability{"ALL"}) || len(caps.Add) > 0 {
			return fmt.Errorf("capabilities %+v, want drop [ALL] and none added", caps)
		}
		return nil
	}},
	{"ProtectSystem=strict", func(_ corev1.PodSpec, c corev1.Container) error {
		if sc := c.SecurityContext; sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
			return errors.New("the root filesystem is writable")
		}
		for _, m := range c.VolumeMounts {
			if !m.ReadOnly {
				return fmt.Errorf("volume %s is mounted writable", m.Name)
			}
		}
		return nil
	}},
	{"SystemCallFilter=@system-service", func(pod corev1.PodSpec, c corev1.Container) error {
		sc := pod.SecurityContext
		if sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
			return errors.New("no RuntimeDefault seccomp profile")
		}
		return nil
	}},
	{"LoadCredential=password:/etc/utmstack_exporter/password", func(pod corev1.PodSpec, c corev1.Container) error {
		for _, v := range pod.Volumes {
			if v.Secret != nil {
				if v.Secret.DefaultMode == nil || *v.Secret.DefaultMode&0o007 != 0 {
					return errors.New("the Secret's files are readable by others")
				}
				return nil
			}
		}
		return errors.New("no Secret volume")
	}},
	{"RestrictAddressFamilies=AF_INET AF_INET6", func(pod corev1.PodSpec, c corev1.Container) error {
		if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
			return errors.New("a service-account token is mounted: the exporter never talks to the Kubernetes API")
		}
		if pod.HostNetwork || pod.HostPID || pod.HostIPC {
			return errors.New("the pod shares a host namespace")
		}
		return nil
	}},
}

// The pod is hardened as the systemd unit is, in every case.
func TestPodIsHardenedAsTheSystemdUnit(t *testing.T) {
	unit, err := os.ReadFile("../../examples/systemd/utmstack_exporter.service")
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range hardening {
		if !bytes.Contains(unit, []byte("\n"+h.directive+"\n")) {
			t.Errorf("the systemd unit has no line %q", h.directive)
		}
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, pod := podSpec(t, render(t, c))
			ctr := container(t, pod)
			for _, h := range hardening {
				if err := h.check(pod.Spec, ctr); err != nil {
					t.Errorf("%s: %v", h.directive, err)
				}
			}
		})
	}
}

// Kubernetes asks the endpoints the contract has for it, on the port the
// Service and the ServiceMonitors name, and the pod has resources.
func TestProbesAndResources(t *testing.T) {
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, pod := podSpec(t, render(t, c))
			ctr := container(t, pod)
			for name, p := range map[string]*corev1.Probe{"/-/healthy": ctr.LivenessProbe, "/-/ready": ctr.ReadinessProbe} {
				if p == nil || p.HTTPGet == nil || p.HTTPGet.Path != name || p.HTTPGet.Port.String() != "http-metrics" {
					t.Errorf("no HTTP probe of %s on port http-metrics: %+v", name, p)
				}
			}
			if len(ctr.Ports) != 1 || ctr.Ports[0].Name != "http-metrics" || ctr.Ports[0].ContainerPort != 9850 {
				t.Errorf("ports %+v, want http-metrics 9850", ctr.Ports)
			}
			if !slices.Contains(ctr.Args, "--web.listen-address=:9850") {
				t.Errorf("args %v do not listen on :9850", ctr.Args)
			}
			if ctr.Resources.Requests.Memory().IsZero() || ctr.Resources.Limits.Memory().IsZero() || ctr.Resources.Requests.Cpu().IsZero() {
				t.Errorf("resources %+v: want memory request and limit, cpu request", ctr.Resources)
			}
		})
	}
}

// No credential is rendered unless the user gave it; the pod reads them
// from the Secret it names, as files.
func TestCredentialsOnlyWhenGiven(t *testing.T) {
	for _, tc := range []struct {
		caseName, fullname, secretName string
		rendered                       map[string]string // the files of a rendered Secret
	}{
		{"defaults", "utmstack-exporter", "utmstack-exporter", nil},
		{"existing-secret", "utmstack-exporter", "utmstack-credentials", nil},
		{"everything", "utmstack", "utmstack", map[string]string{"password": "not-a-real-password", "customer-a.key": "not-a-real-key"}},
	} {
		t.Run(tc.caseName, func(t *testing.T) {
			objects := render(t, caseNamed(t, tc.caseName))
			var secrets []string
			for _, o := range objects {
				if o.Kind == "Secret" {
					secrets = append(secrets, o.Name)
				}
			}
			if tc.rendered == nil && len(secrets) > 0 {
				t.Errorf("rendered Secrets %v, none given", secrets)
			}
			if tc.rendered != nil {
				s := find[corev1.Secret](t, objects, "Secret", tc.secretName)
				got := map[string]string{}
				for k, v := range s.Data {
					got[k] = string(v)
				}
				if fmt.Sprint(got) != fmt.Sprint(tc.rendered) {
					t.Errorf("Secret files %v, want %v", got, tc.rendered)
				}
			}
			_, _, pod := podSpec(t, objects)
			var mounted string
			for _, v := range pod.Spec.Volumes {
				if v.Secret != nil {
					mounted = v.Secret.SecretName
				}
			}
			if mounted != tc.secretName {
				t.Errorf("the pod mounts Secret %q, want %q", mounted, tc.secretName)
			}
			ctr := container(t, pod)
			for _, e := range ctr.Env {
				if e.Value != "" && strings.Contains(strings.ToLower(e.Name), "password") {
					t.Errorf("env %s carries a literal value", e.Name)
				}
			}
			cm := find[corev1.ConfigMap](t, objects, "ConfigMap", tc.fullname)
			for file, content := range tc.rendered {
				if strings.Contains(cm.Data["utmstack.yml"], content) {
					t.Errorf("the ConfigMap holds the secret of %s", file)
				}
			}
		})
	}
}
