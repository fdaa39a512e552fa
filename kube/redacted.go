package kube

import (
	"encoding/json"

	corev1 "k8s.io/api/core/v1"

	"github.com/regcred/regcred/kube/dockerconfig"
)

// redactedEntry stands in, in a Secret printed for the user, for an entry
// that is not theirs to see.
var redactedEntry = json.RawMessage(`{"redacted":"an entry this export did not write"}`)

// Redacted is a copy of the dockerconfigjson Secret s in which every entry
// but ours is replaced by a placeholder: what -o yaml|json prints after a
// write, so that a teammate's password never reaches the user's terminal
// or CI log. A Secret whose content does not parse is printed without it.
func Redacted(s *corev1.Secret, ours dockerconfig.Auths) *corev1.Secret {
	out := s.DeepCopy()
	data := s.Data[corev1.DockerConfigJsonKey]
	existing, err := dockerconfig.ParseAuths(data)
	if err != nil {
		delete(out.Data, corev1.DockerConfigJsonKey)
		return out
	}
	mine := map[string]bool{}
	for k := range ours {
		mine[dockerconfig.SecretKey(k)] = true
	}
	for k := range existing {
		if !mine[dockerconfig.SecretKey(k)] {
			existing[k] = redactedEntry
		}
	}
	if red, err := dockerconfig.WithAuths(data, existing); err == nil {
		out.Data[corev1.DockerConfigJsonKey] = red
	}
	return out
}
