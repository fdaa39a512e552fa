package plugin

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"syscall"

	"github.com/regcred/regcred/kube"
)

// withFlags ends a refusal of kube's with the flag that clears the way.
func withFlags(err error) error {
	var refused *kube.Refused
	var notOurs *kube.NotOursError
	switch {
	case errors.As(err, &notOurs) && notOurs.Trim:
		return err // --force would delete that tool's Secret whole
	case errors.As(err, &notOurs):
		return fmt.Errorf("%w; use --force to delete it anyway", err)
	case !errors.As(err, &refused):
		return err
	}
	switch refused.Remedy {
	case kube.Prune:
		return fmt.Errorf("%w; export fewer registries, or --prune", err)
	case kube.OtherName:
		return fmt.Errorf("%w: use another --name, or delete it first (kubectl delete secret %s -n %s)", err, refused.Name, refused.Namespace)
	case kube.ForceMerge:
		return fmt.Errorf("%w; re-run with --force to add your entries to it", err)
	case kube.ForceReplace:
		return fmt.Errorf("%w; --force replaces its content", err)
	case kube.ForceTakeOver:
		return fmt.Errorf("%w; --force replaces it with yours", err)
	case kube.OtherServiceAccount:
		return fmt.Errorf("%w, or name another with --service-account", err)
	}
	return err
}

// explain turns a refusal of kube's into one line that names the flag that
// clears the way (withFlags), and an unreachable or silent API server into
// one that names it and the kubeconfig it came from; other errors pass
// through.
func (o *options) explain(err error) error {
	err = withFlags(err)
	var u *url.Error
	if !errors.As(err, &u) {
		return err
	}
	cause := rootCause(u.Err)
	switch {
	case unreachable(u.Err):
	case u.Timeout():
		cause = "it did not answer within --request-timeout " + o.requestTimeout()
	default:
		return err
	}
	host := u.URL
	if parsed, perr := url.Parse(u.URL); perr == nil {
		host = parsed.Scheme + "://" + parsed.Host
	}
	ctx := "the current context"
	switch {
	case len(o.contexts) == 1:
		ctx = fmt.Sprintf("context %q", o.contexts[0])
	case len(o.contexts) > 1:
		ctx = o.contextAt(host)
	}
	return fmt.Errorf("cannot reach the Kubernetes API server at %s (%s of %s): %s; start the cluster, or choose another with --kubeconfig, KUBECONFIG or --context",
		host, ctx, o.kubeconfigFiles(""), cause)
}

// requestTimeout is --request-timeout as given, or the default.
func (o *options) requestTimeout() string {
	if o.config.Timeout != nil && *o.config.Timeout != "" && *o.config.Timeout != "0" {
		return *o.config.Timeout
	}
	return DefaultRequestTimeout
}

// unreachable reports whether err means nothing answered: refused, no
// route, no such host, or a dial timeout.
func unreachable(err error) bool {
	var dns *net.DNSError
	var op *net.OpError
	switch {
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return true
	case errors.As(err, &dns):
		return true
	case errors.As(err, &op):
		return op.Op == "dial"
	}
	return false
}

// rootCause is the innermost error's text ("connection refused").
func rootCause(err error) string {
	for {
		next := errors.Unwrap(err)
		if next == nil {
			return err.Error()
		}
		err = next
	}
}

// contextAt names the contexts, of the several given, whose server is host.
func (o *options) contextAt(host string) string {
	var names []string
	for _, c := range o.contexts {
		cfg, err := o.flagsFor(c).ToRESTConfig()
		if err == nil && strings.TrimSuffix(cfg.Host, "/") == host {
			names = append(names, strconv.Quote(c))
		}
	}
	switch len(names) {
	case 0:
		return "one of contexts " + strings.Join(o.contexts, ", ")
	case 1:
		return "context " + names[0]
	}
	return "contexts " + strings.Join(names, ", ")
}
