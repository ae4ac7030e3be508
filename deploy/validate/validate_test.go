package validate_test

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"github.com/riptidecrawler/riptide-poold/deploy/validate"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// kustomizeDir is deploy/kubernetes, relative to this package.
const kustomizeDir = "../kubernetes"

const (
	daemonName = "riptide-poold"
	grpcPort   = 50051
	cacheMount = "/var/cache/riptide-poold"
)

// overlays lists every directory under deploy/kubernetes/overlays, so a new
// overlay is validated without touching this test.
func overlays(t *testing.T) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(kustomizeDir, "overlays"))
	if err != nil {
		t.Fatal(err)
	}
	var dirs []string
	for _, e := range entries {
		if e.IsDir() {
			dirs = append(dirs, e.Name())
		}
	}
	if len(dirs) == 0 {
		t.Fatal("no overlays")
	}
	return dirs
}

func render(t *testing.T, overlay string) []*validate.Object {
	t.Helper()
	d, err := validate.NewDecoder()
	if err != nil {
		t.Fatal(err)
	}
	dir, err := filepath.Abs(filepath.Join(kustomizeDir, "overlays", overlay))
	if err != nil {
		t.Fatal(err)
	}
	objs, err := d.Render(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

// TestOverlaysDecodeStrictly renders every overlay and checks the kinds
// each one must hold. Render itself fails on any field the API types lack.
func TestOverlaysDecodeStrictly(t *testing.T) {
	want := map[string][]string{
		"sidecar":              {"ConfigMap", "Deployment"},
		"sidecar-unix":         {"ConfigMap", "Deployment"},
		"standalone":           {"ConfigMap", "Deployment", "HorizontalPodAutoscaler", "NetworkPolicy", "PodDisruptionBudget", "Service", "Service"},
		"standalone-monitored": {"ConfigMap", "Deployment", "HorizontalPodAutoscaler", "NetworkPolicy", "PodDisruptionBudget", "Service", "Service", "ServiceMonitor"},
	}
	for _, overlay := range overlays(t) {
		t.Run(overlay, func(t *testing.T) {
			var kinds []string
			for _, o := range render(t, overlay) {
				kinds = append(kinds, o.GVK.Kind)
			}
			slices.Sort(kinds)
			if w, ok := want[overlay]; ok && !slices.Equal(kinds, w) {
				t.Errorf("kinds = %v, want %v", kinds, w)
			}
		})
	}
}

// TestStrictDecodingCatchesMistakes proves that the decoder is strict: each
// manifest has one mistake a lenient decoder would silently drop.
func TestStrictDecodingCatchesMistakes(t *testing.T) {
	d, err := validate.NewDecoder()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, yaml, want string }{
		{"misspelled field", `
apiVersion: apps/v1
kind: Deployment
metadata: {name: x}
spec:
  selector: {matchLabels: {a: b}}
  template:
    metadata: {labels: {a: b}}
    spec:
      containers:
        - name: x
          image: x:1
          readinesProbe: {grpc: {port: 50051}}
`, "readinesProbe"},
		{"misplaced field", `
apiVersion: v1
kind: Service
metadata: {name: x}
spec:
  ports: [{port: 1, containerPort: 1}]
`, "containerPort"},
		{"duplicate field", `
apiVersion: v1
kind: ConfigMap
metadata: {name: x}
data: {a: "1"}
data: {b: "2"}
`, "data"},
		{"unknown kind", `
apiVersion: example.com/v1
kind: Widget
metadata: {name: x}
`, "Widget"},
		{"wrong type", `
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: x}
spec: {maxUnavailable: [1]}
`, "maxUnavailable"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := d.Decode([]byte(tc.yaml))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Decode = %v, want an error naming %q", err, tc.want)
			}
		})
	}
}

// TestRenderReportsStrictErrors runs the same check through kustomize, on
// an in-memory overlay, so that Render is known to pass decoding errors on.
func TestRenderReportsStrictErrors(t *testing.T) {
	fsys := filesys.MakeFsInMemory()
	for name, data := range map[string]string{
		"/k/kustomization.yaml": "resources: [cm.yaml]\n",
		"/k/cm.yaml":            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndatta: {a: b}\n",
	} {
		if err := fsys.WriteFile(name, []byte(data)); err != nil {
			t.Fatal(err)
		}
	}
	d, err := validate.NewDecoder()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Render(fsys, "/k"); err == nil || !strings.Contains(err.Error(), "datta") {
		t.Errorf("Render = %v, want an error naming datta", err)
	}
}

// rendered is one overlay's objects by kind.
type rendered struct {
	configMaps  map[string]*corev1.ConfigMap
	deployments []*appsv1.Deployment
	services    []*corev1.Service
	hpas        []*autoscalingv2.HorizontalPodAutoscaler
	pdbs        []*policyv1.PodDisruptionBudget
	netpols     []*networkingv1.NetworkPolicy
	monitors    []*monitoringv1.ServiceMonitor
}

func index(t *testing.T, objs []*validate.Object) rendered {
	t.Helper()
	r := rendered{configMaps: map[string]*corev1.ConfigMap{}}
	for _, o := range objs {
		switch v := o.Value.(type) {
		case *corev1.ConfigMap:
			r.configMaps[v.Name] = v
		case *appsv1.Deployment:
			r.deployments = append(r.deployments, v)
		case *corev1.Service:
			r.services = append(r.services, v)
		case *autoscalingv2.HorizontalPodAutoscaler:
			r.hpas = append(r.hpas, v)
		case *policyv1.PodDisruptionBudget:
			r.pdbs = append(r.pdbs, v)
		case *networkingv1.NetworkPolicy:
			r.netpols = append(r.netpols, v)
		case *monitoringv1.ServiceMonitor:
			r.monitors = append(r.monitors, v)
		default:
			t.Errorf("%s %s: no policy check for this kind", o.GVK.Kind, o.Name)
		}
	}
	return r
}

// daemonContainer finds riptide-poold in a pod: a regular container
// (standalone) or a native sidecar init container.
func daemonContainer(spec *corev1.PodSpec) (c *corev1.Container, sidecar bool, err error) {
	for i := range spec.Containers {
		if spec.Containers[i].Name == daemonName {
			return &spec.Containers[i], false, nil
		}
	}
	for i := range spec.InitContainers {
		if spec.InitContainers[i].Name == daemonName {
			return &spec.InitContainers[i], true, nil
		}
	}
	return nil, false, errors.New("no riptide-poold container")
}

// TestDeploymentPolicy checks, on every overlay's rendered output, the rules
// the deployment promises: native gRPC probes, a locked-down security
// context, resources, configuration from the ConfigMap, a writable cache
// volume on a read-only root, scrape annotations and a drain that fits in
// the grace period.
func TestDeploymentPolicy(t *testing.T) {
	for _, overlay := range overlays(t) {
		t.Run(overlay, func(t *testing.T) {
			r := index(t, render(t, overlay))
			if len(r.deployments) != 1 {
				t.Fatalf("%d Deployments, want 1", len(r.deployments))
			}
			dep := r.deployments[0]
			pod := &dep.Spec.Template.Spec
			c, sidecar, err := daemonContainer(pod)
			if err != nil {
				t.Fatal(err)
			}
			if sidecar && (c.RestartPolicy == nil || *c.RestartPolicy != corev1.ContainerRestartPolicyAlways) {
				t.Error("the sidecar init container needs restartPolicy: Always (a native sidecar)")
			}
			env := configEnv(t, r, c)
			unix := strings.HasPrefix(env["GRPC_ADDR"], "unix://")
			checkImage(t, c.Image)
			checkProbes(t, c, unix)
			checkPodSecurity(t, pod)
			checkContainerSecurity(t, c)
			checkResources(t, c, env)
			checkCacheVolume(t, pod, c, env)
			checkScrape(t, dep.Spec.Template.Annotations, env)
			checkGrace(t, pod, env)
			if unix {
				checkSocketShared(t, pod, env["GRPC_ADDR"])
			}
		})
	}
}

// configEnv answers the daemon container's environment from the ConfigMap
// its envFrom names, which must be rendered in the same overlay.
func configEnv(t *testing.T, r rendered, c *corev1.Container) map[string]string {
	t.Helper()
	env := map[string]string{}
	var found bool
	for _, from := range c.EnvFrom {
		if from.ConfigMapRef == nil {
			continue
		}
		cm, ok := r.configMaps[from.ConfigMapRef.Name]
		if !ok {
			t.Errorf("envFrom names ConfigMap %q, which is not rendered", from.ConfigMapRef.Name)
			continue
		}
		found = true
		for k, v := range cm.Data {
			env[k] = v
		}
	}
	if !found {
		t.Fatal("the daemon takes no configuration from a ConfigMap")
	}
	for _, e := range c.Env {
		env[e.Name] = e.Value
	}
	return env
}

func checkImage(t *testing.T, image string) {
	t.Helper()
	_, tag, ok := strings.Cut(image[strings.LastIndex(image, "/")+1:], ":")
	if !ok && !strings.Contains(image, "@sha256:") {
		t.Errorf("image %q has no tag or digest", image)
	}
	if tag == "latest" {
		t.Errorf("image %q: pin a version, not latest", image)
	}
}

func checkProbes(t *testing.T, c *corev1.Container, unix bool) {
	t.Helper()
	for name, p := range map[string]*corev1.Probe{
		"startupProbe": c.StartupProbe, "readinessProbe": c.ReadinessProbe, "livenessProbe": c.LivenessProbe,
	} {
		switch {
		case p == nil:
			t.Errorf("no %s", name)
		case unix:
			// The kubelet cannot dial a unix socket: the TCP metrics
			// server stands in.
			if p.HTTPGet == nil {
				t.Errorf("%s: want an httpGet probe of the metrics server when gRPC is on a unix socket", name)
			}
		case p.GRPC == nil:
			t.Errorf("%s: want a native gRPC probe", name)
		case p.GRPC.Port != grpcPort:
			t.Errorf("%s: gRPC probe on port %d, want %d", name, p.GRPC.Port, grpcPort)
		}
	}
	if !unix && c.ReadinessProbe != nil && c.ReadinessProbe.GRPC != nil {
		if s := c.ReadinessProbe.GRPC.Service; s == nil || *s != "riptide.pool.v1.PoolService" {
			t.Errorf("readinessProbe asks for service %v, want riptide.pool.v1.PoolService", s)
		}
	}
}

func checkPodSecurity(t *testing.T, pod *corev1.PodSpec) {
	t.Helper()
	sc := pod.SecurityContext
	if sc == nil {
		t.Fatal("no pod securityContext")
	}
	if sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot {
		t.Error("pod: runAsNonRoot is not true")
	}
	if sc.RunAsUser == nil || *sc.RunAsUser == 0 {
		t.Error("pod: runAsUser is unset or root")
	}
	if sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Error("pod: seccompProfile is not RuntimeDefault")
	}
	if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
		t.Error("pod: the daemon calls no Kubernetes API; set automountServiceAccountToken: false")
	}
}

func checkContainerSecurity(t *testing.T, c *corev1.Container) {
	t.Helper()
	sc := c.SecurityContext
	if sc == nil {
		t.Fatal("no container securityContext")
	}
	if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		t.Error("allowPrivilegeEscalation is not false")
	}
	if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
		t.Error("readOnlyRootFilesystem is not true")
	}
	if sc.Privileged != nil && *sc.Privileged {
		t.Error("privileged")
	}
	if sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(sc.Capabilities.Add) > 0 {
		t.Errorf("capabilities = %+v, want drop [ALL] and add none", sc.Capabilities)
	}
}

// checkResources wants requests and a memory limit, with the limit above
// the WASM memory budget the daemon enforces itself, so the daemon answers
// MEMORY_LIMIT_EXCEEDED before the kernel OOM-kills it.
func checkResources(t *testing.T, c *corev1.Container, env map[string]string) {
	t.Helper()
	req, lim := c.Resources.Requests, c.Resources.Limits
	for _, name := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		if _, ok := req[name]; !ok {
			t.Errorf("no %s request", name)
		}
	}
	memLimit, ok := lim[corev1.ResourceMemory]
	if !ok {
		t.Fatal("no memory limit")
	}
	if memReq := req[corev1.ResourceMemory]; memReq.Cmp(memLimit) > 0 {
		t.Errorf("memory request %s over limit %s", memReq.String(), memLimit.String())
	}
	if mb, err := strconv.Atoi(env["WASM_MEMORY_LIMIT_MB"]); err == nil {
		budget := resource.MustParse(fmt.Sprintf("%dMi", mb))
		if memLimit.Cmp(budget) <= 0 {
			t.Errorf("memory limit %s is not above WASM_MEMORY_LIMIT_MB=%d", memLimit.String(), mb)
		}
	} else {
		t.Errorf("WASM_MEMORY_LIMIT_MB=%q: %v", env["WASM_MEMORY_LIMIT_MB"], err)
	}
	// GOMEMLIMIT (e.g. 410MiB) must sit below the container's limit, or
	// the Go GC never works harder before the OOM killer acts.
	if v, ok := env["GOMEMLIMIT"]; ok {
		q, err := resource.ParseQuantity(strings.TrimSuffix(strings.TrimSuffix(v, "B"), "i") + "i")
		if !strings.HasSuffix(v, "iB") || err != nil {
			t.Errorf("GOMEMLIMIT=%q: want a number of MiB or GiB, e.g. 410MiB", v)
		} else if q.Cmp(memLimit) >= 0 {
			t.Errorf("GOMEMLIMIT=%s is not below the memory limit %s", v, memLimit.String())
		}
	}
}

// checkCacheVolume wants the compilation cache on a writable emptyDir, at
// the path the configuration names, since the root filesystem is read-only.
func checkCacheVolume(t *testing.T, pod *corev1.PodSpec, c *corev1.Container, env map[string]string) {
	t.Helper()
	if got := env["WASM_COMPILATION_CACHE_DIR"]; got != cacheMount {
		t.Errorf("WASM_COMPILATION_CACHE_DIR = %q, want %q", got, cacheMount)
	}
	mount := findMount(c, cacheMount)
	if mount == nil {
		t.Fatalf("nothing mounted at %s", cacheMount)
	}
	if mount.ReadOnly {
		t.Errorf("%s is mounted read-only", cacheMount)
	}
	if v := findVolume(pod, mount.Name); v == nil || v.EmptyDir == nil {
		t.Errorf("volume %q is not an emptyDir", mount.Name)
	}
}

func checkScrape(t *testing.T, annotations map[string]string, env map[string]string) {
	t.Helper()
	_, port, err := net.SplitHostPort(env["METRICS_ADDR"])
	if err != nil {
		t.Fatalf("METRICS_ADDR=%q: %v", env["METRICS_ADDR"], err)
	}
	want := map[string]string{"prometheus.io/scrape": "true", "prometheus.io/port": port, "prometheus.io/path": "/metrics"}
	for k, v := range want {
		if annotations[k] != v {
			t.Errorf("pod annotation %s = %q, want %q", k, annotations[k], v)
		}
	}
}

// checkGrace wants the pod's termination grace period to outlast the
// daemon's own drain, so SIGKILL never cuts a drain short.
func checkGrace(t *testing.T, pod *corev1.PodSpec, env map[string]string) {
	t.Helper()
	grace, err := strconv.Atoi(env["SHUTDOWN_GRACE_MS"])
	if err != nil {
		t.Fatalf("SHUTDOWN_GRACE_MS=%q: %v", env["SHUTDOWN_GRACE_MS"], err)
	}
	if pod.TerminationGracePeriodSeconds == nil || *pod.TerminationGracePeriodSeconds*1000 <= int64(grace) {
		t.Errorf("terminationGracePeriodSeconds = %v, want more than SHUTDOWN_GRACE_MS=%d", pod.TerminationGracePeriodSeconds, grace)
	}
}

// checkSocketShared wants the socket's directory mounted, from one shared
// volume, in the daemon and in every application container.
func checkSocketShared(t *testing.T, pod *corev1.PodSpec, addr string) {
	t.Helper()
	dir := filepath.Dir(strings.TrimPrefix(addr, "unix://"))
	var containers []*corev1.Container
	for i := range pod.InitContainers {
		containers = append(containers, &pod.InitContainers[i])
	}
	for i := range pod.Containers {
		containers = append(containers, &pod.Containers[i])
	}
	volume := ""
	for _, c := range containers {
		m := findMount(c, dir)
		if m == nil {
			t.Errorf("container %s does not mount the socket directory %s", c.Name, dir)
			continue
		}
		if volume != "" && m.Name != volume {
			t.Errorf("container %s mounts %s from volume %s, others from %s", c.Name, dir, m.Name, volume)
		}
		volume = m.Name
	}
	if v := findVolume(pod, volume); v == nil || v.EmptyDir == nil {
		t.Errorf("socket volume %q is not an emptyDir", volume)
	}
}

func findMount(c *corev1.Container, path string) *corev1.VolumeMount {
	for i, m := range c.VolumeMounts {
		if m.MountPath == path {
			return &c.VolumeMounts[i]
		}
	}
	return nil
}

func findVolume(pod *corev1.PodSpec, name string) *corev1.Volume {
	for i, v := range pod.Volumes {
		if v.Name == name {
			return &pod.Volumes[i]
		}
	}
	return nil
}

// TestStandaloneWiring checks that the standalone objects point at each
// other: every selector selects the Deployment's pods, the Service and
// NetworkPolicy use the container's named ports, and the HPA scales the
// Deployment.
func TestStandaloneWiring(t *testing.T) {
	for _, overlay := range overlays(t) {
		if !strings.HasPrefix(overlay, "standalone") {
			continue
		}
		t.Run(overlay, func(t *testing.T) {
			r := index(t, render(t, overlay))
			if len(r.deployments) != 1 {
				t.Fatalf("%d Deployments, want 1", len(r.deployments))
			}
			dep := r.deployments[0]
			podLabels := labels.Set(dep.Spec.Template.Labels)
			selects := func(what string, sel *metav1.LabelSelector) {
				t.Helper()
				s, err := metav1.LabelSelectorAsSelector(sel)
				if err != nil || s.Empty() || !s.Matches(podLabels) {
					t.Errorf("%s selector %v does not select the pods (%v): %v", what, sel, podLabels, err)
				}
			}
			selects("Deployment", dep.Spec.Selector)
			c, _, err := daemonContainer(&dep.Spec.Template.Spec)
			if err != nil {
				t.Fatal(err)
			}
			ports := map[string]bool{}
			for _, p := range c.Ports {
				ports[p.Name] = true
			}
			for _, svc := range r.services {
				selects("Service", &metav1.LabelSelector{MatchLabels: svc.Spec.Selector})
				for _, p := range svc.Spec.Ports {
					if !ports[p.TargetPort.String()] {
						t.Errorf("Service port %s targets %s, which the container does not name", p.Name, p.TargetPort.String())
					}
				}
			}
			for _, pdb := range r.pdbs {
				selects("PodDisruptionBudget", pdb.Spec.Selector)
			}
			for _, np := range r.netpols {
				selects("NetworkPolicy", &np.Spec.PodSelector)
				for _, rule := range np.Spec.Ingress {
					for _, p := range rule.Ports {
						if p.Port == nil || !ports[p.Port.String()] {
							t.Errorf("NetworkPolicy ingress port %v is not a port the container names", p.Port)
						}
					}
				}
			}
			if len(r.hpas) != 1 {
				t.Fatalf("%d HorizontalPodAutoscalers, want 1", len(r.hpas))
			}
			ref := r.hpas[0].Spec.ScaleTargetRef
			if ref.Kind != "Deployment" || ref.Name != dep.Name {
				t.Errorf("HPA scales %s %s, want Deployment %s", ref.Kind, ref.Name, dep.Name)
			}
			// One ClusterIP Service and one headless Service (client-side
			// balancing, docs/CLIENTS.md) over the same pods.
			var headless, clusterIP int
			for _, svc := range r.services {
				if svc.Spec.ClusterIP == corev1.ClusterIPNone {
					headless++
				} else {
					clusterIP++
				}
			}
			if headless != 1 || clusterIP != 1 {
				t.Errorf("%d headless and %d ClusterIP Services, want one of each", headless, clusterIP)
			}
			for _, m := range r.monitors {
				for _, svc := range r.services {
					s, err := metav1.LabelSelectorAsSelector(&m.Spec.Selector)
					if err != nil {
						t.Fatal(err)
					}
					// The monitor scrapes each pod once: through the
					// ClusterIP Service, never the headless one.
					want := svc.Spec.ClusterIP != corev1.ClusterIPNone
					if s.Matches(labels.Set(svc.Labels)) != want {
						t.Errorf("ServiceMonitor selector %v selects Service %s (%v): %v, want %v", m.Spec.Selector, svc.Name, svc.Labels, !want, want)
					}
				}
				for _, e := range m.Spec.Endpoints {
					if !ports[e.Port] {
						t.Errorf("ServiceMonitor endpoint port %q is not a Service port", e.Port)
					}
				}
			}
		})
	}
}
