package plugin

import (
	"context"
	"fmt"
	"net/http"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// pfPriorityLevelHeader is the response header in which the API server's
// API Priority and Fairness names the priority level a request ran at.
const pfPriorityLevelHeader = "X-Kubernetes-PF-PriorityLevel-UID"

// RateLimit says how a command may pace its requests to one cluster.
type RateLimit struct {
	Lifted bool   // no client-side limit: the server queues and sheds load itself
	Why    string // one line, for the user
}

// RateLimitFor decides, with one request, whether the client-side limit
// can be lifted: only where API Priority and Fairness governs this user's
// requests. Its headers alone do not say so — the server sends them for
// the exempt priority level too (system:masters, as in kind's and
// kubeadm's admin kubeconfigs), whose requests it never queues or sheds —
// so the request reads the "exempt" priority level and compares its UID
// with the one the header names. A user who may not read it (every user
// but cluster admins, by default) is not in system:masters, and so not
// exempt under the default FlowSchemas.
func RateLimitFor(ctx context.Context, cfg *rest.Config) RateLimit {
	probe := rest.CopyConfig(cfg)
	rec := &headerRecorder{}
	probe.Wrap(func(rt http.RoundTripper) http.RoundTripper {
		rec.rt = rt
		return rec
	})
	c, err := kubernetes.NewForConfig(probe)
	if err != nil {
		return RateLimit{Why: fmt.Sprintf("client-side limit of %d requests per second kept: %v", limitQPS, err)}
	}
	exempt, err := c.FlowcontrolV1().PriorityLevelConfigurations().Get(ctx, "exempt", metav1.GetOptions{})
	uid := ""
	if err == nil {
		uid = string(exempt.UID)
	}
	rec.mu.Lock()
	pl := rec.header
	rec.mu.Unlock()
	return decideRateLimit(pl, uid, err)
}

// decideRateLimit is RateLimitFor's decision, from the priority level the
// server named (pl, "" for none), the exempt level's UID and the error
// reading it.
func decideRateLimit(pl, exemptUID string, err error) RateLimit {
	kept := func(why string) RateLimit {
		return RateLimit{Why: fmt.Sprintf("client-side limit of %d requests per second kept: %s", limitQPS, why)}
	}
	switch {
	case pl == "":
		return kept("the API server does not answer with priority and fairness")
	case err == nil && exemptUID == pl:
		return kept("the API server exempts you from priority and fairness")
	case err == nil, apierrors.IsForbidden(err):
		return RateLimit{Lifted: true, Why: "no client-side limit: the API server's priority and fairness queues your requests"}
	}
	return kept(fmt.Sprintf("cannot tell whether you are exempt from priority and fairness (%v)", err))
}

// headerRecorder keeps the priority level header of the last response.
type headerRecorder struct {
	rt     http.RoundTripper
	mu     sync.Mutex
	header string
}

func (h *headerRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := h.rt.RoundTrip(req)
	if resp != nil {
		h.mu.Lock()
		h.header = resp.Header.Get(pfPriorityLevelHeader)
		h.mu.Unlock()
	}
	return resp, err
}

// WrappedRoundTripper lets client-go reach the transport beneath, to
// cancel a request that timed out.
func (h *headerRecorder) WrappedRoundTripper() http.RoundTripper { return h.rt }
