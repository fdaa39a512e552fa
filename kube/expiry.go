package kube

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"time"
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

// ExpiryNote describes a secret's expiry relative to now for a person —
// "expired 2026-11-27 10:00 UTC (3h ago)", "expires … (in 5h)" — and says
// whether it needs attention: expired, or expiring within soon.
func ExpiryNote(secret string, now time.Time, soon time.Duration) (note string, urgent bool) {
	exp, ok := Expiry(secret)
	if !ok {
		return "", false
	}
	when := exp.Format("2006-01-02 15:04 MST")
	d := exp.Sub(now)
	switch {
	case d <= 0:
		return "expired " + when + " (" + roughly(-d) + " ago)", true
	default:
		return "expires " + when + " (in " + roughly(d) + ")", d <= soon
	}
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
