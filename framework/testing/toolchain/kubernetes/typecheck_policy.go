package main

// The typecheck-policy command: the expression warnings kube-controller-manager v1.36.3's
// validatingadmissionpolicy-status controller would write into a ValidatingAdmissionPolicy's
// status.typeChecking, without a cluster. It reads on stdin
//
//	{"policies": [ValidatingAdmissionPolicy v1, ...], "customResourceDefinitions": [CRD v1, ...]}
//
// and writes a JSON array with one entry per policy, in order:
//
//	{"name": "...", "expressionWarnings": [{"fieldRef": "...", "warning": "..."}]}
//
// The checker is the controller's own (TypeChecker of k8s.io/apiserver's validating policy
// plugin). Its schema resolver is the controller's for built-in kinds (the generated OpenAPI
// definitions of kube-apiserver) and, in place of the controller's discovery client, the
// OpenAPI v3 document kube-apiserver publishes for each given CRD version (built by the same
// apiextensions builder). Its REST mapper maps a rule's resources to kinds: for built-in kinds
// by the plural kube-apiserver serves them under, for the given CRDs by spec.names.plural; a
// resource it cannot map is skipped, as the controller skips a resource discovery does not
// know. A CRD that does not decode or has no schema for a version fails the command (exit 1).

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextensionsscheme "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset/scheme"
	"k8s.io/apiextensions-apiserver/pkg/controller/openapi/builder"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
	validatingpolicy "k8s.io/apiserver/pkg/admission/plugin/policy/validating"
	"k8s.io/apiserver/pkg/cel/openapi/resolver"
	k8sscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/kube-openapi/pkg/spec3"
	"k8s.io/kube-openapi/pkg/validation/spec"
	"k8s.io/kubernetes/pkg/generated/openapi"
)

type policyTypeCheckInput struct {
	Policies                  []admissionregistrationv1.ValidatingAdmissionPolicy `json:"policies"`
	CustomResourceDefinitions []apiextensionsv1.CustomResourceDefinition          `json:"customResourceDefinitions"`
}

type policyTypeCheckVerdict struct {
	Name               string                                      `json:"name"`
	ExpressionWarnings []admissionregistrationv1.ExpressionWarning `json:"expressionWarnings"`
}

// crdSchemaResolver resolves the kinds of the given CRDs from the OpenAPI v3 documents
// kube-apiserver would publish for them, as resolver.ClientDiscoveryResolver resolves them
// from a server.
type crdSchemaResolver struct {
	documents map[schema.GroupVersionKind]*spec3.OpenAPI
}

func (r *crdSchemaResolver) ResolveSchema(gvk schema.GroupVersionKind) (*spec.Schema, error) {
	doc, ok := r.documents[gvk]
	if !ok || doc.Components == nil {
		return nil, fmt.Errorf("cannot resolve group version kind %q: %w", gvk, resolver.ErrSchemaNotFound)
	}
	for name, s := range doc.Components.Schemas {
		var gvks []schema.GroupVersionKind
		if err := s.Extensions.GetObject("x-kubernetes-group-version-kind", &gvks); err != nil {
			return nil, err
		}
		for _, g := range gvks {
			if g == gvk {
				return resolver.PopulateRefs(func(ref string) (*spec.Schema, bool) {
					s, ok := doc.Components.Schemas[strings.TrimPrefix(ref, "#/components/schemas/")]
					return s, ok
				}, name)
			}
		}
	}
	return nil, fmt.Errorf("cannot resolve group version kind %q: %w", gvk, resolver.ErrSchemaNotFound)
}

// builtinRESTMapper maps every kind of client-go's scheme (the built-in API groups) to the
// plural kube-apiserver serves it under: the lower-cased kind made plural as
// meta.UnsafeGuessKindToResource does, except Endpoints, the one built-in kind that guess gets
// wrong. Kinds that are not resources (List kinds, options) are mapped too and never named by
// a rule.
func builtinRESTMapper() *meta.DefaultRESTMapper {
	mapper := meta.NewDefaultRESTMapper(nil)
	for gvk := range k8sscheme.Scheme.AllKnownTypes() {
		if gvk.Version == "__internal" || strings.HasSuffix(gvk.Kind, "List") {
			continue
		}
		if gvk.Group == "" && gvk.Kind == "Endpoints" {
			mapper.AddSpecific(gvk, gvk.GroupVersion().WithResource("endpoints"), gvk.GroupVersion().WithResource("endpoints"), meta.RESTScopeNamespace)
			continue
		}
		mapper.Add(gvk, meta.RESTScopeNamespace)
	}
	return mapper
}

func newTypecheckPolicyCommand() *cobra.Command {
	return &cobra.Command{
		Use:          "typecheck-policy",
		Short:        "Type-check ValidatingAdmissionPolicies (JSON on stdin) as kube-controller-manager's status controller does",
		SilenceUsage: true,
		Args:         cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			input, err := io.ReadAll(os.Stdin)
			if err != nil {
				return fmt.Errorf("reading stdin: %w", err)
			}
			var in policyTypeCheckInput
			if err := json.Unmarshal(input, &in); err != nil {
				return fmt.Errorf(`stdin is not {"policies": [...], "customResourceDefinitions": [...]}: %w`, err)
			}
			mapper := builtinRESTMapper()
			crds := &crdSchemaResolver{documents: map[schema.GroupVersionKind]*spec3.OpenAPI{}}
			for i := range in.CustomResourceDefinitions {
				crd := &in.CustomResourceDefinitions[i]
				scope := meta.RESTScopeNamespace
				if crd.Spec.Scope == apiextensionsv1.ClusterScoped {
					scope = meta.RESTScopeRoot
				}
				for _, v := range crd.Spec.Versions {
					if !v.Served {
						continue
					}
					gvk := schema.GroupVersionKind{Group: crd.Spec.Group, Version: v.Name, Kind: crd.Spec.Names.Kind}
					mapper.AddSpecific(gvk, gvk.GroupVersion().WithResource(crd.Spec.Names.Plural), gvk.GroupVersion().WithResource(crd.Spec.Names.Singular), scope)
					doc, err := builder.BuildOpenAPIV3(crd, v.Name, builder.Options{V2: false, IncludeSelectableFields: true})
					if err != nil {
						return fmt.Errorf("CustomResourceDefinition %s, version %s: %w", crd.Name, v.Name, err)
					}
					crds.documents[gvk] = doc
				}
			}
			checker := &validatingpolicy.TypeChecker{
				SchemaResolver: resolver.NewDefinitionsSchemaResolver(openapi.GetOpenAPIDefinitions, k8sscheme.Scheme, apiextensionsscheme.Scheme).Combine(crds),
				RestMapper:     mapper,
			}
			verdicts := make([]policyTypeCheckVerdict, 0, len(in.Policies))
			for i := range in.Policies {
				warnings := checker.Check(&in.Policies[i])
				if warnings == nil {
					warnings = []admissionregistrationv1.ExpressionWarning{}
				}
				verdicts = append(verdicts, policyTypeCheckVerdict{Name: in.Policies[i].Name, ExpressionWarnings: warnings})
			}
			return json.NewEncoder(cmd.OutOrStdout()).Encode(verdicts)
		},
	}
}
