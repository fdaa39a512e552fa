package kube

import (
	"encoding/base64"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/regcred/regcred/kube/dockerconfig"
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
			note, urgent := ExpiryNote(dockerconfig.Registry{Server: "r.example", Username: "u", Password: tt.secret}, now, now, 24*time.Hour)
			if note != tt.want || urgent != tt.urgent {
				t.Errorf("ExpiryNote = %q, %v; want %q, %v", note, urgent, tt.want, tt.urgent)
			}
		})
	}
}

// TestCloudTokenLifetimes: ECR and Google tokens carry no expiry of their
// own; theirs is bounded from the latest time they can have been minted.
func TestCloudTokenLifetimes(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	ecr := "123456789012.dkr.ecr.eu-west-1.amazonaws.com"
	tests := []struct {
		name     string
		r        dockerconfig.Registry
		mintedBy time.Time
		want     string
		urgent   bool
		expired  bool
	}{
		{"ECR just read", dockerconfig.Registry{Server: ecr, Username: "AWS", Password: "opaque"}, now, "expires by 2026-12-08 00:00 UTC (in 12h: an ECR token lasts 12 hours)", true, false},
		{"ECR with a scheme and path", dockerconfig.Registry{Server: "https://" + ecr + "/team", Username: "AWS", Password: "opaque"}, now, "expires by 2026-12-08 00:00 UTC (in 12h: an ECR token lasts 12 hours)", true, false},
		{"ECR China", dockerconfig.Registry{Server: "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn", Username: "AWS", Password: "x"}, now, "expires by 2026-12-08 00:00 UTC (in 12h: an ECR token lasts 12 hours)", true, false},
		{"ECR public", dockerconfig.Registry{Server: "public.ecr.aws", Username: "AWS", Password: "x"}, now, "expires by 2026-12-08 00:00 UTC (in 12h: an ECR token lasts 12 hours)", true, false},
		{"ECR written 13h ago", dockerconfig.Registry{Server: ecr, Username: "AWS", Password: "opaque"}, now.Add(-13 * time.Hour), "expired by 2026-12-07 11:00 UTC (1h ago: an ECR token lasts 12 hours)", true, true},
		{"not ECR: another user", dockerconfig.Registry{Server: ecr, Username: "alice", Password: "p"}, now, "", false, false},
		{"not ECR: another host", dockerconfig.Registry{Server: "ecr.example.com", Username: "AWS", Password: "p"}, now, "", false, false},
		{"Google by username", dockerconfig.Registry{Server: "europe-docker.pkg.dev", Username: "oauth2accesstoken", Password: "tok"}, now.Add(-20 * time.Minute), "expires by 2026-12-07 12:40 UTC (in 40m: a Google access token lasts an hour)", true, false},
		{"Google by token", dockerconfig.Registry{Server: "gcr.io", Username: "_token", Password: "ya29.a0Af"}, now.Add(-2 * time.Hour), "expired by 2026-12-07 11:00 UTC (1h ago: a Google access token lasts an hour)", true, true},
		{"a JWT's own claim wins", dockerconfig.Registry{Server: ecr, Username: "AWS", Password: jwtExpiring(now, 72*time.Hour)}, now.Add(-13 * time.Hour), "expires 2026-12-10 12:00 UTC (in 3d)", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			note, urgent := ExpiryNote(tt.r, tt.mintedBy, now, 24*time.Hour)
			if note != tt.want || urgent != tt.urgent {
				t.Errorf("ExpiryNote = %q, %v; want %q, %v", note, urgent, tt.want, tt.urgent)
			}
			if got := Expired(tt.r, tt.mintedBy, now); got != tt.expired {
				t.Errorf("Expired = %v, want %v", got, tt.expired)
			}
		})
	}
}

// TestDataWritten: the latest managed-fields entry that owns data, else
// the creation time; an entry for metadata alone does not count.
func TestDataWritten(t *testing.T) {
	created := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	entry := func(at time.Time, fields string) metav1.ManagedFieldsEntry {
		return metav1.ManagedFieldsEntry{Manager: "m", Time: &metav1.Time{Time: at}, FieldsV1: &metav1.FieldsV1{Raw: []byte(fields)}}
	}
	tests := []struct {
		name string
		mfs  []metav1.ManagedFieldsEntry
		want time.Time
	}{
		{"no managed fields", nil, created},
		{"data written later", []metav1.ManagedFieldsEntry{entry(created.Add(time.Hour), `{"f:data":{}}`)}, created.Add(time.Hour)},
		{"the latest of two", []metav1.ManagedFieldsEntry{entry(created.Add(3*time.Hour), `{"f:data":{}}`), entry(created.Add(time.Hour), `{"f:data":{}}`)}, created.Add(3 * time.Hour)},
		{"a label added later", []metav1.ManagedFieldsEntry{entry(created.Add(time.Hour), `{"f:data":{}}`), entry(created.Add(5*time.Hour), `{"f:metadata":{"f:labels":{}}}`)}, created.Add(time.Hour)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{CreationTimestamp: metav1.Time{Time: created}, ManagedFields: tt.mfs}}
			if got := DataWritten(s); !got.Equal(tt.want) {
				t.Errorf("DataWritten = %v, want %v", got, tt.want)
			}
		})
	}
}
