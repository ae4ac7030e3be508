// Package validate renders riptide-poold's kustomize overlays and decodes
// every rendered object strictly with the Kubernetes API's own Go types, so
// that a misspelled or misplaced field fails CI instead of being dropped
// silently by a cluster.
//
// It is a module of its own (deploy/validate/go.mod) because kustomize and
// the Kubernetes API types are large and the daemon needs neither. Run it
// from this directory:
//
//	go test ./...
package validate

import (
	"errors"
	"fmt"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	kjson "k8s.io/apimachinery/pkg/runtime/serializer/json"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// Object is one rendered object, decoded into its API type.
type Object struct {
	GVK  schema.GroupVersionKind
	Name string
	// Value is a pointer to the API type, e.g. *appsv1.Deployment.
	Value runtime.Object
}

// Decoder decodes objects strictly: an unknown or duplicated field, or a
// kind it has no type for, is an error.
type Decoder struct {
	scheme *runtime.Scheme
	codec  *kjson.Serializer
}

// NewDecoder returns a Decoder for the kinds the deployment uses: core,
// apps, autoscaling/v2, policy/v1, networking/v1 and prometheus-operator's
// monitoring/v1.
func NewDecoder() (*Decoder, error) {
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{
		corev1.AddToScheme,
		appsv1.AddToScheme,
		autoscalingv2.AddToScheme,
		policyv1.AddToScheme,
		networkingv1.AddToScheme,
		monitoringv1.AddToScheme,
	} {
		if err := add(scheme); err != nil {
			return nil, err
		}
	}
	codec := kjson.NewSerializerWithOptions(kjson.DefaultMetaFactory, scheme, scheme,
		kjson.SerializerOptions{Yaml: true, Strict: true})
	return &Decoder{scheme: scheme, codec: codec}, nil
}

// Decode decodes one object (YAML or JSON). The error names the object and
// every field the API types do not have.
func (d *Decoder) Decode(data []byte) (*Object, error) {
	obj, gvk, err := d.codec.Decode(data, nil, nil)
	if err != nil {
		name := "object"
		if gvk != nil {
			name = gvk.Kind
		}
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	meta, ok := obj.(interface{ GetName() string })
	if !ok {
		return nil, fmt.Errorf("%s: no object metadata", gvk.Kind)
	}
	return &Object{GVK: *gvk, Name: meta.GetName(), Value: obj}, nil
}

// Render runs the kustomization at dir on fsys, as `kustomize build dir`
// would, and decodes every object it renders.
func (d *Decoder) Render(fsys filesys.FileSystem, dir string) ([]*Object, error) {
	resources, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("kustomize build %s: %w", dir, err)
	}
	var objs []*Object
	var errs []error
	for _, r := range resources.Resources() {
		data, err := r.AsYAML()
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", r.CurId(), err))
			continue
		}
		obj, err := d.Decode(data)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s %s: %w", dir, r.CurId(), err))
			continue
		}
		objs = append(objs, obj)
	}
	return objs, errors.Join(errs...)
}
