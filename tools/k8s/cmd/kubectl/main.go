// Command kubectl is the upstream kubectl (k8s.io/kubernetes/cmd/kubectl) of
// the same release as the test kube-apiserver, built for regcred's tests so
// that they run the kubectl the cluster expects on any machine, whether or
// not one is installed (make test puts it first on PATH).
package main

import (
	"os"

	"k8s.io/component-base/cli"
	"k8s.io/component-base/logs"
	"k8s.io/kubectl/pkg/cmd"
	"k8s.io/kubectl/pkg/cmd/util"

	// Client auth plugins, as upstream's main imports them.
	_ "k8s.io/client-go/plugin/pkg/client/auth"
)

func main() {
	// The verbosity is set before the command is built, as upstream does,
	// so that klog honours -v while kubectl reads plugins and .kuberc.
	logs.GlogSetter(cmd.GetLogVerbosity(os.Args)) // nolint:errcheck
	if err := cli.RunNoErrOutput(cmd.NewDefaultKubectlCommand()); err != nil {
		util.CheckErr(err)
	}
}
