package helper_test

import (
	"strings"
	"testing"
	"time"

	"github.com/regcred/regcred/store/keyring"
	"github.com/regcred/regcred/testenv/launch"
)

// answered runs the helper while KeePassXC asks a person, who answers
// allow; it fails the test if KeePassXC asked nothing.
func (e *env) answered(allow bool, stdin string, args ...string) result {
	e.t.Helper()
	r, asked := e.deciding(func(string) bool { return allow }, stdin, args...)
	if asked == 0 {
		e.t.Errorf("%v: KeePassXC asked nothing", args)
	}
	return r
}

// allowing runs the helper and allows whatever KeePassXC asks meanwhile,
// if it asks at all (an item this client was allowed before is not asked
// for again).
func (e *env) allowing(stdin string, args ...string) result {
	e.t.Helper()
	r, _ := e.deciding(func(string) bool { return true }, stdin, args...)
	return r
}

// deciding runs the helper and answers every question KeePassXC asks
// meanwhile as allow says of each (its window's name), until the helper
// ends: a question just answered still shows for a moment while it
// closes (longer on a loaded machine), and an answer sent to it would
// leave the next question unanswered. It returns the helper's result and
// how many questions it answered.
func (e *env) deciding(allow func(question string) bool, stdin string, args ...string) (result, int) {
	e.t.Helper()
	done := make(chan result, 1)
	go func() { done <- e.run(stdin, args...) }()
	asked := 0
	for {
		select {
		case r := <-done:
			return r, asked
		case <-time.After(50 * time.Millisecond):
			if e.session.Asking() && e.session.AnswerBy(allow, time.Second) == nil {
				asked++
			}
		}
	}
}

// TestKeePassXCOnItsDefaultsAsAUser (issue 28, points 2, 4 and 5): as an
// ordinary user, with access confirmation on, a get asks KeePassXC for the
// item — which asks the person — and answers what they allowed; a
// refusal is one line saying so, not a raw IsLocked; doctor names
// KeePassXC (as "an unknown program" before: its /proc entries are closed
// to its own user) and says what its Recycle Bin keeps; stores in a row
// wait out each save of the default one-second key derivation.
func TestKeePassXCOnItsDefaultsAsAUser(t *testing.T) {
	e := newProviderEnv(t, launch.KeePassXC, launch.Defaults)
	// Stores in a row: each lands after the save the last one started.
	for _, server := range []string{"a.example", "b.example", "c.example"} {
		start := time.Now()
		r := e.run(storeJSON(server, "u-"+server, "s3cret-"+server), "store")
		t.Logf("store %s: %s", server, time.Since(start).Round(time.Millisecond))
		if r.code != 0 {
			t.Fatalf("store %s: exit %d %q %q", server, r.code, r.stdout, r.stderr)
		}
	}
	if r := e.answered(true, "a.example", "get"); r.code != 0 || r.stdout != `{"ServerURL":"a.example","Username":"u-a.example","Secret":"s3cret-a.example"}`+"\n" {
		t.Errorf("get, allowed: exit %d %q %q", r.code, r.stdout, r.stderr)
	}
	r := e.answered(false, "b.example", "get")
	if r.code != 1 || r.stdout != "read b.example: "+keyring.ErrAccessDenied.Error()+"\n" {
		t.Errorf("get, denied: exit %d %q %q", r.code, r.stdout, r.stderr)
	}
	// A second login to a registry replaces its item: KeePassXC before
	// 2.7.6 waits for a person to confirm CreateItem's replace, so regcred
	// updates such items in place — which it does only if it knows the
	// provider (as "an unknown program" this store failed, not answered).
	if r := e.allowing(storeJSON("a.example", "u-a.example", "rotated"), "store"); r.code != 0 {
		t.Errorf("second store of a.example: exit %d %q %q", r.code, r.stdout, r.stderr)
	}
	if r := e.allowing("a.example", "get"); r.code != 0 || !strings.Contains(r.stdout, `"Secret":"rotated"`) {
		t.Errorf("get after the second store: exit %d %q %q", r.code, r.stdout, r.stderr)
	}
	d := e.allowing("", "doctor") // it reads every item: KeePassXC may ask
	for _, want := range []string{"Secret Service provider on the bus: KeePassXC 2.7", "Recycle Bin"} {
		if !strings.Contains(d.stdout, want) {
			t.Errorf("doctor does not say %q:\n%s%s", want, d.stdout, d.stderr)
		}
	}
	if !e.session.Alive() {
		t.Fatal("KeePassXC crashed")
	}
	if e.session.Asking() {
		t.Error("KeePassXC still asks something nobody answered")
	}
}

// TestKeePassXCDeclinedDelete (issue 28, point 4): KeePassXC with its
// Recycle Bin off, so that a delete is for good and it asks a person to
// confirm it: docker logout answered "no" fails in one line and the
// credential stays (regcred reported success before: go-keyring drops the
// prompt's answer); answered "yes", the credential is gone.
func TestKeePassXCDeclinedDelete(t *testing.T) {
	e := newProviderEnv(t, launch.KeePassXC, launch.NoRecycleBin)
	if r := e.allowing(storeJSON("c.example", "u-c.example", "s3cret-c.example"), "store"); r.code != 0 {
		t.Fatalf("store: exit %d %q %q", r.code, r.stdout, r.stderr)
	}
	notDelete := func(question string) bool {
		return !strings.Contains(question, "Delete") && !strings.Contains(question, "Remove")
	}
	if r, asked := e.deciding(notDelete, "c.example", "erase"); asked == 0 || r.code != 1 || r.stdout != "erase c.example: "+keyring.ErrDeleteDeclined.Error()+"\n" {
		t.Errorf("erase, delete declined: %d questions, exit %d %q %q", asked, r.code, r.stdout, r.stderr)
	}
	if r := e.allowing("c.example", "get"); r.code != 0 || !strings.Contains(r.stdout, `"Secret":"s3cret-c.example"`) {
		t.Errorf("get after a declined erase: exit %d %q %q", r.code, r.stdout, r.stderr)
	}
	if r := e.allowing("c.example", "erase"); r.code != 0 {
		t.Errorf("erase, delete confirmed: exit %d %q %q", r.code, r.stdout, r.stderr)
	}
	if r := e.allowing("c.example", "get"); r.code != 1 || r.stdout != "credentials not found in native keychain\n" {
		t.Errorf("get after a confirmed erase: exit %d %q %q", r.code, r.stdout, r.stderr)
	}
	if !e.session.Alive() {
		t.Fatal("KeePassXC crashed")
	}
	if e.session.Asking() {
		t.Error("KeePassXC still asks something nobody answered")
	}
}
