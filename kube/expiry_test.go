package kube

import (
	"encoding/base64"
	"fmt"
	"testing"
	"time"
)

func jwt(header, claims string) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(header)) + "." + enc([]byte(claims)) + ".c2lnbmF0dXJl"
}

// jwtExpiring is a JWT whose exp is now+d.
func jwtExpiring(now time.Time, d time.Duration) string {
	return jwt(`{"alg":"RS256","typ":"JWT"}`, fmt.Sprintf(`{"sub":"janedoe","exp":%d}`, now.Add(d).Unix()))
}

func TestExpiry(t *testing.T) {
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name, secret string
		want         string
		urgent       bool
	}{
		{"expires in 3 days", jwtExpiring(now, 72*time.Hour), "expires 2026-12-01 12:00 UTC (in 3d)", false},
		{"expires in 5 hours", jwtExpiring(now, 5*time.Hour), "expires 2026-11-28 17:00 UTC (in 5h)", true},
		{"expires in 20 minutes", jwtExpiring(now, 20*time.Minute), "expires 2026-11-28 12:20 UTC (in 20m)", true},
		{"expired", jwtExpiring(now, -3*time.Hour), "expired 2026-11-28 09:00 UTC (3h ago)", true},
		{"float exp", jwt(`{"alg":"ES256"}`, fmt.Sprintf(`{"exp":%d.5}`, now.Add(72*time.Hour).Unix())), "expires 2026-12-01 12:00 UTC (in 3d)", false},
		{"no exp", jwt(`{"alg":"HS256"}`, `{"sub":"x"}`), "", false},
		{"not a JWT", "hunter2", "", false},
		{"three dots, not base64", "a.b.c", "", false},
		{"JSON but no alg", jwt(`{}`, `{"exp":1764590400}`), "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			note, urgent := ExpiryNote(tt.secret, now, 24*time.Hour)
			if note != tt.want || urgent != tt.urgent {
				t.Errorf("ExpiryNote = %q, %v; want %q, %v", note, urgent, tt.want, tt.urgent)
			}
		})
	}
}
