// Command kube-apiserver is the upstream API server, built from the
// k8s.io/kubernetes module for regcred's tests. It lives in this separate
// tools module so that k8s.io/kubernetes never enters the main go.mod.
package main

import (
	"os"

	"k8s.io/component-base/cli"
	"k8s.io/kubernetes/cmd/kube-apiserver/app"
)

func main() {
	os.Exit(cli.Run(app.NewAPIServerCommand()))
}
