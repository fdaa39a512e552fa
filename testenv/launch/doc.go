// Package launch starts the real components regcred is tested and shown
// against, each private to its caller and stopped by PID: a D-Bus session
// bus with a Secret Service provider (gnome-keyring, KeePassXC, KWallet),
// throw-away users with kernel keyrings of their own, a registry, a
// kube-apiserver with etcd, a node (containerd and the kubelet) in a
// network namespace, and Wine with its Credential Manager; and it builds
// the project's binaries. It does not import package testing: the demo and
// the benchmarks use it as the tests do (through package testenv).
package launch
