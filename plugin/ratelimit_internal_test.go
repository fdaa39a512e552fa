package plugin

import (
	"errors"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// TestDecideRateLimit: the client-side limit goes only where priority and
// fairness governs the user's requests.
func TestDecideRateLimit(t *testing.T) {
	plc := schema.GroupResource{Group: "flowcontrol.apiserver.k8s.io", Resource: "prioritylevelconfigurations"}
	tests := []struct {
		name, pl, exempt string
		err              error
		lifted           bool
		why              string
	}{
		{"no APF headers", "", "", nil, false, "does not answer with priority and fairness"},
		{"exempt", "uid-exempt", "uid-exempt", nil, false, "exempts you"},
		{"another level", "uid-workload-low", "uid-exempt", nil, true, "queues your requests"},
		{"may not read levels", "uid-workload-low", "", apierrors.NewForbidden(plc, "exempt", errors.New("no")), true, "queues your requests"},
		{"no flowcontrol v1", "uid-x", "", apierrors.NewNotFound(plc, "exempt"), false, "cannot tell"},
	}
	for _, tt := range tests {
		got := decideRateLimit(tt.pl, tt.exempt, tt.err)
		if got.Lifted != tt.lifted || !strings.Contains(got.Why, tt.why) {
			t.Errorf("%s: %+v, want lifted %v and %q", tt.name, got, tt.lifted, tt.why)
		}
	}
}
