package kube

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/regcred/regcred/kube/dockerconfig"
)

// Expiry returns when a secret expires, if it is a JWT with an "exp"
// claim. Recent docker CLIs log in to Docker Hub with a device-code flow
// and store an OAuth access token — a JWT — as the password, and many
// registries' robot and identity tokens are JWTs too. Nothing is verified:
// the claim only tells the user when a pull will start failing.
func Expiry(secret string) (time.Time, bool) {
	parts := strings.Split(secret, ".")
	if len(parts) != 3 {
		return time.Time{}, false
	}
	var header struct {
		Alg string `json:"alg"`
	}
	var claims struct {
		Exp *json.Number `json:"exp"`
	}
	if !decodeSegment(parts[0], &header) || header.Alg == "" || !decodeSegment(parts[1], &claims) || claims.Exp == nil {
		return time.Time{}, false
	}
	exp, err := claims.Exp.Float64()
	if err != nil || exp <= 0 {
		return time.Time{}, false
	}
	return time.Unix(int64(exp), 0).UTC(), true
}

// decodeSegment decodes one base64url JSON segment of a JWT into v.
func decodeSegment(seg string, v any) bool {
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(seg, "="))
	if err != nil {
		return false
	}
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.UseNumber()
	return dec.Decode(v) == nil
}

// Lifetime is when a credential stops working, as far as it tells.
type Lifetime struct {
	At time.Time // when it expires; for a Bound, at the latest
	// Bound says At is not the token's own claim but its documented
	// lifetime after the latest time it can have been minted.
	Bound bool
	Kind  string // what the token is: "an ECR token", …; "" for a JWT
}

// Lifetimes of the cloud registry tokens that carry no expiry of their own.
const (
	// ECRLifetime: "Authorization tokens are valid for 12 hours" (Amazon
	// ECR API reference, AuthorizationData). The password itself is
	// opaque: its encoding is not documented, so it is not decoded.
	ECRLifetime = 12 * time.Hour
	// GoogleLifetime: a Google OAuth 2.0 access token (gcloud auth
	// print-access-token, the gcr/gcloud helpers) lasts an hour.
	GoogleLifetime = time.Hour
)

// ecrHost matches Amazon ECR registries, private (ACCOUNT.dkr.ecr.REGION
// .amazonaws.com, FIPS and China partitions too) and public.
var ecrHost = regexp.MustCompile(`^([0-9]{12}\.dkr\.ecr(-fips)?\.[a-z0-9-]+\.amazonaws\.com(\.cn)?|public\.ecr\.aws)$`)

// LifetimeOf tells when r's password expires: a JWT's "exp" claim (Docker
// Hub's device-login tokens, ACR's refresh tokens, many robot tokens); for
// an ECR token (username AWS, an ECR host) 12 hours, and for a Google
// OAuth access token (username oauth2accesstoken, or a "ya29." token) an
// hour, after it was minted — which was no later than mintedBy: when it
// was read from its source, or when the Secret holding it was written.
func LifetimeOf(r dockerconfig.Registry, mintedBy time.Time) (Lifetime, bool) {
	if exp, ok := Expiry(r.Password); ok {
		return Lifetime{At: exp}, true
	}
	host, _, _ := strings.Cut(dockerconfig.SecretKey(r.Server), "/")
	switch {
	case r.Username == "AWS" && ecrHost.MatchString(host):
		return Lifetime{At: mintedBy.Add(ECRLifetime).UTC(), Bound: true, Kind: "an ECR token lasts 12 hours"}, true
	case r.Username == "oauth2accesstoken" || strings.HasPrefix(r.Password, "ya29."):
		return Lifetime{At: mintedBy.Add(GoogleLifetime).UTC(), Bound: true, Kind: "a Google access token lasts an hour"}, true
	}
	return Lifetime{}, false
}

// ExpiryNote describes r's expiry (see LifetimeOf) relative to now for a
// person — "expired 2026-11-27 10:00 UTC (3h ago)", "expires … (in 5h)",
// "expires by … (in 12h: an ECR token lasts 12 hours)" — and says whether
// it needs attention: expired, or expiring within soon.
func ExpiryNote(r dockerconfig.Registry, mintedBy, now time.Time, soon time.Duration) (note string, urgent bool) {
	l, ok := LifetimeOf(r, mintedBy)
	if !ok {
		return "", false
	}
	when := l.At.Format("2006-01-02 15:04 MST")
	d := l.At.Sub(now)
	verb, rel := "expires ", "in "+roughly(d)
	if d <= 0 {
		verb, rel = "expired ", roughly(-d)+" ago"
	}
	if l.Bound {
		return verb + "by " + when + " (" + rel + ": " + l.Kind + ")", d <= soon
	}
	return verb + when + " (" + rel + ")", d <= soon
}

// Expired reports whether r has expired by now, for a credential minted
// no later than mintedBy (see LifetimeOf).
func Expired(r dockerconfig.Registry, mintedBy, now time.Time) bool {
	l, ok := LifetimeOf(r, mintedBy)
	return ok && !l.At.After(now)
}

// roughly rounds a duration for people: minutes, hours or days.
func roughly(d time.Duration) string {
	switch {
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Round(time.Minute).Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d.Round(time.Hour).Hours()))
	default:
		return fmt.Sprintf("%dd", int(d.Round(24*time.Hour).Hours()/24))
	}
}

// DataWritten is when the Secret's data was last written, as its managed
// fields record (the latest entry that owns data), else when it was
// created: no token in it can have been minted later.
func DataWritten(s *corev1.Secret) time.Time {
	t := s.CreationTimestamp.Time
	for _, m := range s.ManagedFields {
		if m.Time != nil && m.FieldsV1 != nil && strings.Contains(string(m.FieldsV1.Raw), `"f:data"`) && m.Time.After(t) {
			t = m.Time.Time
		}
	}
	return t
}
