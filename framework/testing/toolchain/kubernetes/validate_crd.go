package main

// The validate-crd command: what kube-apiserver v1.36.3 would answer to creating each
// CustomResourceDefinition, without a server. It reads a JSON array of
// apiextensions.k8s.io/v1 CustomResourceDefinitions on stdin and writes a JSON array with one
// entry per input, in order:
//
//	{"name": "...", "errors": [{"field", "type", "detail", "message"}], "warnings": ["..."]}
//
// The path is the API server's own create path for this resource: decoding into the internal
// version (defaulting, then conversion), the registry strategy's PrepareForCreate, Validate
// (ValidateCustomResourceDefinition: structural schema, CEL compilation with cel-go's type
// checker, estimated cost limits per rule and per CRD, ...) and WarningsOnCreate. "message" is
// what a refused create carries as the message of its status cause (the field apart). A CRD
// that does not decode gets one error of type "Decode". The exit status is 0 whenever the
// output was written.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/install"
	"k8s.io/apiextensions-apiserver/pkg/registry/customresourcedefinition"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
)

type crdProblem struct {
	Field   string `json:"field"`
	Type    string `json:"type"`
	Detail  string `json:"detail"`
	Message string `json:"message"`
}

type crdVerdict struct {
	Name     string       `json:"name"`
	Errors   []crdProblem `json:"errors"`
	Warnings []string     `json:"warnings"`
}

func newValidateCRDCommand() *cobra.Command {
	return &cobra.Command{
		Use:           "validate-crd",
		Short:         "Validate CustomResourceDefinitions (a JSON array on stdin) as kube-apiserver's create does",
		SilenceUsage:  true,
		SilenceErrors: false,
		Args:          cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			input, err := io.ReadAll(os.Stdin)
			if err != nil {
				return fmt.Errorf("reading stdin: %w", err)
			}
			var items []json.RawMessage
			if err := json.Unmarshal(input, &items); err != nil {
				return fmt.Errorf("stdin is not a JSON array of CustomResourceDefinitions: %w", err)
			}
			scheme := runtime.NewScheme()
			install.Install(scheme)
			decoder := serializer.NewCodecFactory(scheme).UniversalDecoder()
			strategy := customresourcedefinition.NewStrategy(scheme)
			ctx := context.Background()
			verdicts := make([]crdVerdict, 0, len(items))
			for _, item := range items {
				verdict := crdVerdict{Errors: []crdProblem{}, Warnings: []string{}}
				obj, _, err := decoder.Decode(item, nil, nil)
				if err != nil {
					verdict.Errors = append(verdict.Errors, crdProblem{Type: "Decode", Detail: err.Error(), Message: err.Error()})
					verdicts = append(verdicts, verdict)
					continue
				}
				crd, ok := obj.(*apiextensions.CustomResourceDefinition)
				if !ok {
					msg := fmt.Sprintf("expected a CustomResourceDefinition, got %T", obj)
					verdict.Errors = append(verdict.Errors, crdProblem{Type: "Decode", Detail: msg, Message: msg})
					verdicts = append(verdicts, verdict)
					continue
				}
				verdict.Name = crd.Name
				strategy.PrepareForCreate(ctx, crd)
				for _, e := range strategy.Validate(ctx, crd) {
					verdict.Errors = append(verdict.Errors, crdProblem{Field: e.Field, Type: string(e.Type), Detail: e.Detail, Message: e.ErrorBody()})
				}
				verdict.Warnings = append(verdict.Warnings, strategy.WarningsOnCreate(ctx, crd)...)
				verdicts = append(verdicts, verdict)
			}
			out := json.NewEncoder(cmd.OutOrStdout())
			return out.Encode(verdicts)
		},
	}
}
