package plugin

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"text/tabwriter"
	"time"
	"unicode"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/regcred/regcred/kube"
	"github.com/regcred/regcred/kube/dockerconfig"
)

// redacted stands in for a password unless --show-secrets is given.
const redacted = "********"

func newInspectCommand(o *options) *cobra.Command {
	var showSecrets bool
	cmd := &cobra.Command{
		Use:   "inspect",
		Short: "Show what a pull Secret holds and whether it matches the keyring",
		Long: `Inspect decodes the Secret's .dockerconfigjson (what "kubectl get secret … | base64 --decode"
shows) as a table of registry, username and password (redacted unless --show-secrets), and
says for each registry whether it matches the local keyring. A password that is a JWT with
an expiry (Docker Hub's device-login tokens, many robot tokens) shows when it expires.`,
		Example: `  # The Secret regcred in the current namespace, against the keyring
  kubectl regcred inspect

  # Another Secret, in namespace prod
  kubectl regcred inspect --name ghcr-pull -n prod

  # With the passwords
  kubectl regcred inspect --show-secrets`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			rows, _, written, err := o.compare(cmd.Context(), nil)
			var partial *incomplete
			if err != nil && !errors.As(err, &partial) {
				return err
			}
			w := tabwriter.NewWriter(o.env.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "REGISTRY\tUSERNAME\tPASSWORD\tEXPIRES\tKEYRING")
			now := time.Now()
			for _, r := range rows {
				pw := redacted
				if showSecrets {
					pw = r.Password
				}
				status := string(r.Status)
				if r.Detail != "" {
					status += " (" + r.Detail + ")"
				}
				expires, _ := kube.ExpiryNote(dockerconfig.Registry{Server: r.Server, Username: r.Username, Password: r.Password}, written, now, 0)
				if expires == "" {
					expires = "-"
				}
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", printable(r.Server), printable(r.Username), printable(pw), expires, status)
			}
			if ferr := w.Flush(); ferr != nil {
				return ferr
			}
			return err
		},
	}
	cmd.Flags().BoolVar(&showSecrets, "show-secrets", false, "print passwords instead of "+redacted)
	return cmd
}

// printable is s as it may reach a terminal: anyone who may write the
// Secret chooses its keys and usernames, and a control character there (an
// escape sequence that retitles the window or rewrites the screen) is
// shown quoted, never sent.
func printable(s string) string {
	for _, r := range s {
		if !unicode.IsPrint(r) || r == '\t' {
			return strconv.Quote(s)
		}
	}
	return s
}

// rejected is a Secret whose content the kubelet cannot read.
type rejected struct{ err error }

func (r *rejected) Error() string { return r.err.Error() }
func (r *rejected) Unwrap() error { return r.err }

// incomplete is a comparison some of whose credential lookups failed
// (each named on stderr): verify cannot tell, and exits 2.
type incomplete struct{ n int }

func (e *incomplete) Error() string {
	return fmt.Sprintf("%d credential %s failed (named above): not compared", e.n, plural(e.n, "lookup", "lookups"))
}

// errDrift is verify's failure: the difference is already printed.
type errDrift struct{ n int }

func (e errDrift) Error() string { return fmt.Sprintf("%d registries differ", e.n) }

func newVerifyCommand(o *options) *cobra.Command {
	return &cobra.Command{
		Use:   "verify [REGISTRY...]",
		Short: "Exit 0 when the cluster's Secret matches the keyring, 1 when it drifted, 2 when it could not check",
		Long: `Verify compares the Secret, as the kubelet reads it, with the local keyring: for
the given registries, or without arguments for your entries — those whose registry
and username your keyring holds (a teammate's entries, and registries you never
exported there, are not drift). It prints nothing and exits 0 when they match;
otherwise it prints a redacted difference and exits 1; a Secret the kubelet rejects
(an entry whose "auth" is not base64 of username:password) is drift too. It exits 2 when it could not compare (no such
Secret, an unreachable cluster, no access, a keyring that does not answer), as
kubectl diff does, so a drift monitor can tell drift from a failed check.`,
		Example: `  # Fail (exit 1) when prod's Secret no longer matches the keyring (2: could not check)
  kubectl regcred verify -n prod

  # Only one registry
  kubectl regcred verify ghcr.io -n prod`,
		RunE: func(cmd *cobra.Command, args []string) error {
			rows, selected, written, err := o.compare(cmd.Context(), args)
			var rej *rejected
			if errors.As(err, &rej) {
				fmt.Fprintln(o.env.Stdout, rej)
				return errDrift{1}
			}
			if err != nil {
				return err
			}
			drift := 0
			now := time.Now()
			for _, r := range rows {
				if selected != nil && !selected[dockerconfig.SecretKey(r.Server)] {
					continue
				}
				if selected == nil && !yours(r) {
					continue // a teammate's entry, or a registry never exported here
				}
				reg := dockerconfig.Registry{Server: r.Server, Username: r.Username, Password: r.Password}
				switch {
				case r.Status != kube.InSync:
					drift++
					detail := string(r.Status)
					if r.Detail != "" {
						detail = r.Detail
					}
					fmt.Fprintf(o.env.Stdout, "%s: %s\n", printable(r.Server), detail)
				case r.Password != "" && kube.Expired(reg, written, now):
					// In sync with a source that holds the same dead token.
					drift++
					note, _ := kube.ExpiryNote(reg, written, now, 0)
					fmt.Fprintf(o.env.Stdout, "%s: %s\n", printable(r.Server), note)
				}
			}
			if drift > 0 {
				fmt.Fprintf(o.env.Stderr, "drift: %d of the Secret's registries differ from the keyring\n", drift)
				return errDrift{drift}
			}
			return nil
		},
	}
}

// yours reports whether a row of verify's without arguments is the
// user's to check: an entry of the Secret whose registry and username the
// keyring holds (the rule export and delete use), or one whose "auth"
// the kubelet cannot read, which breaks the Secret for everyone.
func yours(r kube.Row) bool {
	return r.Status == kube.InSync || r.Status == kube.Differs && r.Detail == "password differs"
}

// compare reads the Secret of the first target and compares it with the
// keyring. With registry arguments it returns the set of canonical
// addresses to report on; otherwise every usable keyring registry counts.
//
// written is when the Secret's data was last written: no token in it was
// minted later (see kube.LifetimeOf).
func (o *options) compare(ctx context.Context, args []string) (_ []kube.Row, _ map[string]bool, written time.Time, _ error) {
	rows, selected, secret, err := o.compareSecret(ctx, args)
	if secret != nil {
		written = kube.DataWritten(secret)
	}
	return rows, selected, written, err
}

func (o *options) compareSecret(ctx context.Context, args []string) ([]kube.Row, map[string]bool, *corev1.Secret, error) {
	targets, err := o.targets()
	if err != nil {
		return nil, nil, nil, err
	}
	if len(targets) != 1 {
		return nil, nil, nil, errors.New("give one --context and one --namespace")
	}
	t := targets[0]
	c, err := o.client(t.context)
	if err != nil {
		return nil, nil, nil, err
	}
	secret, err := c.CoreV1().Secrets(t.namespace).Get(ctx, o.name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil, nil, fmt.Errorf("secret %s/%s not found (create it with kubectl regcred export)", t.namespace, o.name)
	}
	if err != nil {
		return nil, nil, nil, kube.Explain(err, "get", "secrets", t.namespace)
	}
	if secret.Type != corev1.SecretTypeDockerConfigJson {
		return nil, nil, nil, fmt.Errorf("secret %s/%s has type %q, not %q", t.namespace, o.name, secret.Type, corev1.SecretTypeDockerConfigJson)
	}
	inSecret, err := dockerconfig.Parse(secret.Data[corev1.DockerConfigJsonKey])
	if err != nil {
		return nil, nil, secret, &rejected{fmt.Errorf("secret %s/%s: the kubelet rejects it: %w", t.namespace, o.name, err)}
	}
	k, err := o.openKeyring(ctx)
	if err != nil {
		return nil, nil, nil, err
	}
	var selected map[string]bool
	var servers []string
	if len(args) > 0 {
		selected = map[string]bool{}
		for _, a := range args {
			selected[dockerconfig.SecretKey(a)] = true
			if s, ok := k.resolve(a); ok {
				servers = append(servers, s)
			} else if !inSecretHas(inSecret, a) {
				return nil, nil, nil, fmt.Errorf("registry %q is in neither the keyring nor the Secret", a)
			}
		}
	} else {
		// A keyring with nothing usable is no error here: the Secret's rows stand alone.
		servers, _ = k.selectRegistries(ctx, nil, func(string, string) {})
	}
	var extra []dockerconfig.Registry
	for _, s := range servers {
		extra = append(extra, dockerconfig.Registry{Server: s, Username: k.list[s]})
	}
	rows, err := kube.Compare(inSecret, k.lookup(ctx), extra)
	if err == nil && k.failed > 0 {
		// Some registries could not be compared: no verdict on them.
		err = &incomplete{k.failed}
	}
	return rows, selected, secret, err
}

func inSecretHas(regs []dockerconfig.Registry, query string) bool {
	want := dockerconfig.SecretKey(query)
	for _, r := range regs {
		if dockerconfig.SecretKey(r.Server) == want {
			return true
		}
	}
	return false
}
