//go:build tools

// Package tools pins the Kubernetes commands the kubeloop test harness builds:
// kube-apiserver, kube-controller-manager, kube-scheduler and kubectl at v1.36.3.
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
