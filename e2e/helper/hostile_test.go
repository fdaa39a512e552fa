package helper_test

import (
	"strings"
	"testing"
)

// TestHostileInput feeds the helper a corpus of malformed, oversized and
// malicious input. Each must fail with exit 1 and one line on stdout,
// nothing on stderr, no secret echoed, and leave the keyring exactly as it
// was.
func TestHostileInput(t *testing.T) {
	onEach(t, func(t *testing.T, e *env) {
		const secret = "EXISTING-SECRET-4d2a"
		e.mustStore("existing.example", "alice", secret)
		before := e.keyring()
		valid := func(server string) string { return storeJSON(server, "mallory", "hostile-secret") }
		big := strings.Repeat("A", 10<<20)
		tests := []struct {
			name  string
			args  []string
			stdin string
			want  string // the line starts with this
		}{
			{"empty input", []string{"store"}, "", "invalid input: want one JSON object"},
			{"white space only", []string{"store"}, " \n\t ", "invalid input: want one JSON object"},
			{"invalid JSON", []string{"store"}, "{", "invalid input: want one JSON object"},
			{"truncated", []string{"store"}, `{"ServerURL":"a.example","Username":"u","Secret":"s`, "invalid input: want one JSON object"},
			{"array", []string{"store"}, `["a.example","u","s"]`, "invalid input: want one JSON object"},
			{"string", []string{"store"}, `"a.example"`, "invalid input: want one JSON object"},
			{"number", []string{"store"}, `42`, "invalid input: want one JSON object"},
			{"null", []string{"store"}, `null`, "invalid input: want one JSON object"},
			{"boolean", []string{"store"}, `true`, "invalid input: want one JSON object"},
			{"ServerURL number", []string{"store"}, `{"ServerURL":1,"Username":"u","Secret":"s"}`, "invalid input: ServerURL must be a string"},
			{"Username number", []string{"store"}, `{"ServerURL":"a.example","Username":1,"Secret":"s"}`, "invalid input: Username must be a string"},
			{"Secret number", []string{"store"}, `{"ServerURL":"a.example","Username":"u","Secret":1}`, "invalid input: Secret must be a string"},
			{"Secret object", []string{"store"}, `{"ServerURL":"a.example","Username":"u","Secret":{"x":1}}`, "invalid input: Secret must be a string"},
			{"Username array", []string{"store"}, `{"ServerURL":"a.example","Username":["u"],"Secret":"s"}`, "invalid input: Username must be a string"},
			{"lower-case key, wrong type", []string{"store"}, `{"serverurl":true,"Username":"u","Secret":"s"}`, "invalid input: ServerURL must be a string"},
			{"null ServerURL", []string{"store"}, `{"ServerURL":null,"Username":"u","Secret":"s"}`, "invalid input: ServerURL must be a string"},
			{"null Username", []string{"store"}, `{"ServerURL":"a.example","Username":null,"Secret":"s"}`, "invalid input: Username must be a string"},
			{"null Secret", []string{"store"}, `{"ServerURL":"a.example","Username":"u","Secret":null}`, "invalid input: Secret must be a string"},
			{"missing ServerURL", []string{"store"}, `{"Username":"u","Secret":"s"}`, "no credentials server URL"},
			{"missing Username", []string{"store"}, `{"ServerURL":"a.example","Secret":"s"}`, "no credentials username"},
			{"blank ServerURL", []string{"store"}, valid("   "), "invalid server URL: contains white space"},
			{"newline in ServerURL", []string{"store"}, valid("a.example\nb.example"), "invalid server URL: contains white space or a control character"},
			{"carriage return in ServerURL", []string{"store"}, valid("a.example\r"), "invalid server URL"},
			{"tab in ServerURL", []string{"store"}, valid("a.example\t"), "invalid server URL"},
			{"escape sequence in ServerURL", []string{"store"}, valid("a.example\x1b[2J"), "invalid server URL"},
			{"NUL escaped in ServerURL", []string{"store"}, valid("a.example\x00"), "invalid server URL"},
			{"user:password@ in ServerURL", []string{"store"}, valid("https://bob:hunter2@a.example"), "invalid server URL: credentials inside the address"},
			{"user@ in ServerURL", []string{"store"}, valid("bob@a.example"), "invalid server URL: credentials inside the address"},
			{"other scheme", []string{"store"}, valid("ftp://a.example"), "invalid server URL: only http:// and https://"},
			{"non-numeric port", []string{"store"}, valid("a.example:http"), "invalid server URL: port"},
			{"port 0", []string{"store"}, valid("a.example:0"), "invalid server URL: port"},
			{"port too large", []string{"store"}, valid("a.example:99999"), "invalid server URL: port"},
			{"unclosed IPv6", []string{"store"}, valid("[::1:5000"), "invalid server URL: unclosed ["},
			{"reserved chunk name", []string{"store"}, valid("regcred-chunk:0123456789abcdef0123456789abcdef:1"), "invalid server URL: port"},
			{"huge ServerURL", []string{"store"}, valid(strings.Repeat("a", 5000) + ".example"), "invalid server URL: longer than"},
			{"raw NUL byte", []string{"store"}, valid("a.example") + "\x00", "invalid input: contains a NUL byte"},
			{"invalid UTF-8", []string{"store"}, `{"ServerURL":"a.example","Username":"u","Secret":"` + "\xff\xfe" + `"}`, "invalid input: not valid UTF-8"},
			{"10 MiB stdin", []string{"store"}, `{"ServerURL":"a.example","Username":"u","Secret":"` + big + `"}`, "invalid input: larger than"},
			{"line over 64 KiB", []string{"store"}, valid("a.example")[:1] + `"Secret":"` + strings.Repeat("s", 70<<10) + `","ServerURL":"a.example","Username":"u"}`, "invalid input: a line longer than"},
			{"trailing garbage", []string{"store"}, valid("a.example") + "garbage", "invalid input: data after the JSON object"},
			{"two objects", []string{"store"}, valid("a.example") + valid("b.example"), "invalid input: data after the JSON object"},
			{"get: newline inside", []string{"get"}, "a.example\nexisting.example", "credentials not found in native keychain"},
			{"get: white space inside", []string{"get"}, "existing .example", "credentials not found in native keychain"},
			{"get: userinfo", []string{"get"}, "https://alice:" + secret + "@existing.example", "credentials not found in native keychain"},
			{"get: other scheme", []string{"get"}, "ftp://existing.example", "credentials not found in native keychain"},
			{"get: NUL", []string{"get"}, "existing.example\x00", "invalid input: contains a NUL byte"},
			{"get: invalid UTF-8", []string{"get"}, "existing.example\xff", "invalid input: not valid UTF-8"},
			{"get: 10 MiB", []string{"get"}, big, "invalid input: larger than"},
			{"erase: control character", []string{"erase"}, "existing\x07.example", "invalid server URL"},
			{"erase: userinfo", []string{"erase"}, "https://alice:" + secret + "@existing.example", "invalid server URL: credentials inside"},
			{"erase: 10 MiB", []string{"erase"}, big, "invalid input: larger than"},
			{"erase: two lines", []string{"erase"}, "existing.example\nexisting.example", "invalid server URL"},
			{"unknown verb", []string{"delete"}, "existing.example", "docker-credential-regcred: unknown action: delete"},
			{"verb with a terminal escape", []string{"\x1b]0;pwned\x07"}, "", `docker-credential-regcred: unknown action: "\x1b]0;pwned\a"`},
			{"store with extra argument", []string{"store", "extra"}, valid("a.example"), "Usage: docker-credential-regcred"},
			{"get with extra arguments", []string{"get", "a", "b"}, "existing.example", "Usage: docker-credential-regcred"},
			{"erase with extra argument", []string{"erase", "existing.example"}, "existing.example", "Usage: docker-credential-regcred"},
			{"no arguments", nil, "", "Usage: docker-credential-regcred"},
		}
		if len(tests) < 40 {
			t.Fatalf("the corpus has %d cases, want at least 40", len(tests))
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				r := e.run(tt.stdin, tt.args...)
				if r.code != 1 || !strings.HasPrefix(r.stdout, tt.want) || strings.Count(r.stdout, "\n") != 1 {
					t.Errorf("exit %d stdout %q; want exit 1 and one line starting %q", r.code, truncate(r.stdout), tt.want)
				}
				if r.stderr != "" {
					t.Errorf("stderr %q", truncate(r.stderr))
				}
				for _, s := range []string{secret, "hostile-secret", "hunter2"} {
					if strings.Contains(r.stdout, s) {
						t.Errorf("output echoes a secret: %q", truncate(r.stdout))
					}
				}
			})
		}
		if after := e.keyring(); after != before {
			t.Errorf("hostile input changed the store:\n%s\n->\n%s", before, after)
		}
		if r := e.run("existing.example", "get"); !strings.Contains(r.stdout, secret) {
			t.Errorf("the existing credential is damaged: %q", r.stdout)
		}
	})
}

func truncate(s string) string {
	if len(s) > 200 {
		return s[:200] + "…"
	}
	return s
}
