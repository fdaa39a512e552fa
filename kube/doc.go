// Package kube owns what regcred writes to Kubernetes: the
// kubernetes.io/dockerconfigjson Secrets built from keyring credentials
// (their content is package dockerconfig's), their merged writes under the
// field manager "kubectl-regcred" (never clobbering another's entries), and
// the ServiceAccount imagePullSecrets that reference them. It takes a
// kubernetes.Interface and knows nothing of flags or output.
//
// Whose entry is whose: a Secret holds one entry per registry, and the
// entry belongs to the account it holds — its registry and username. An
// export writes and replaces only entries of the accounts it writes (a
// new password for the same username is a rotation; another username
// for the same registry is a teammate's entry, refused without force),
// and delete removes only entries whose registry and username are in the
// user's keyring. Every other entry, each spelling of a registry as it is
// spelt, and every field of the .dockerconfigjson beside "auths" go back
// unchanged.
package kube
