//go:build tools

// Package tools keeps in go.mod the commands built from this module besides its own main
// package: kwok (built against the same Kubernetes libraries, so their compiled packages are
// shared with the control plane's) and kubectl (built only when asked for).
package tools

import (
	_ "k8s.io/kubernetes/cmd/kubectl"
	_ "sigs.k8s.io/kwok/cmd/kwok"
)
