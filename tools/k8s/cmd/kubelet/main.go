// Command kubelet is the upstream node agent, built from the
// k8s.io/kubernetes module for regcred's tests: it runs the Pods of the
// Kubernetes task page against containerd, pulling with the exported Secret.
package main

import (
	"context"
	"os"

	"k8s.io/component-base/cli"
	"k8s.io/kubernetes/cmd/kubelet/app"
)

func main() {
	os.Exit(cli.Run(app.NewKubeletCommand(context.Background())))
}
