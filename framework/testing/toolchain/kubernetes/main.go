// Command kubernetes is kube-apiserver, kube-controller-manager and kube-scheduler v1.36.3 in
// one multi-call binary, as hyperkube was until Kubernetes 1.19: the three share most of their
// compiled packages, so one link replaces three. It runs the component named by the base name
// it was started under (a symlink `kube-apiserver` -> `kubernetes`), or else by its first
// argument (`kubernetes kube-apiserver --secure-port=...`). Each component's entry point is
// the same call its upstream main package makes (app.New...Command run by cli.Run), with the
// union of their blank imports. A fourth name, validate-crd (validate_crd.go), runs
// kube-apiserver's CustomResourceDefinition create validation on CRDs read from stdin; a fifth,
// typecheck-policy (typecheck_policy.go), kube-controller-manager's type checking of
// ValidatingAdmissionPolicies read from stdin.
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/spf13/cobra"

	_ "time/tzdata" // CronJob time zones (kube-apiserver, kube-controller-manager)

	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register"          // --logging-format=json
	_ "k8s.io/component-base/metrics/prometheus/clientgo" // client-go metrics
	_ "k8s.io/component-base/metrics/prometheus/version"  // kubernetes_build_info
	apiserver "k8s.io/kubernetes/cmd/kube-apiserver/app"
	controllermanager "k8s.io/kubernetes/cmd/kube-controller-manager/app"
	scheduler "k8s.io/kubernetes/cmd/kube-scheduler/app"
)

var commands = map[string]func() *cobra.Command{
	"kube-apiserver":          apiserver.NewAPIServerCommand,
	"kube-controller-manager": controllermanager.NewControllerManagerCommand,
	"kube-scheduler":          func() *cobra.Command { return scheduler.NewSchedulerCommand() },
	"validate-crd":            newValidateCRDCommand,
	"typecheck-policy":        newTypecheckPolicyCommand,
}

func main() {
	name := filepath.Base(os.Args[0])
	args := os.Args[1:]
	if _, ok := commands[name]; !ok && len(args) > 0 {
		name, args = args[0], args[1:]
	}
	newCommand, ok := commands[name]
	if !ok {
		names := make([]string, 0, len(commands))
		for n := range commands {
			names = append(names, n)
		}
		sort.Strings(names)
		fmt.Fprintf(os.Stderr, "usage: %s <component> [flags], or run it through a symlink named after the component; components: %v\n", filepath.Base(os.Args[0]), names)
		os.Exit(2)
	}
	// cobra reads os.Args[1:]; the component sees itself as argv[0], as it would alone.
	os.Args = append([]string{name}, args...)
	os.Exit(cli.Run(newCommand()))
}
