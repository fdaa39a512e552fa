package helper_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/regcred/regcred/testenv"
	"github.com/regcred/regcred/testenv/launch"

	"github.com/regcred/regcred/store/keyring"
)

// cred is a credential as the crash test writes it.
type cred struct{ user, secret string }

// TestKillDuringStoreAndErase kills the helper with SIGKILL before each
// write of store and erase (a -tags regcredfault build), then checks what
// the store promises: get answers the old or the new credential (or not
// found, for a create or an erase), never a mix; list agrees with get; and
// every keyring item is one list accounts for — or doctor reports it and
// doctor --fix repairs it.
func TestKillDuringStoreAndErase(t *testing.T) {
	faultBin, err := launch.BuildTagged(binDir, "docker-credential-regcred", "docker-credential-regcred-fault", "regcredfault")
	if err != nil {
		t.Fatal(err)
	}
	old := &cred{"old", strings.Repeat("o", 1500)} // chunked at a 512-byte limit
	small := &cred{"new", "n"}
	large := &cred{"new", strings.Repeat("n", 1700)}
	scenarios := []scenario{ // steps: the item's write, 4 chunks each way
		{"create small", nil, small, 1},
		{"create large", nil, large, 5},
		{"large over large", old, large, 9},
		{"small over large", old, small, 5},
		{"large over small", small, large, 5},
		{"erase large", old, nil, 5},
		{"erase small", small, nil, 1},
	}
	for _, keyring := range keyrings {
		t.Run(keyring, func(t *testing.T) {
			t.Parallel() // each keyring has its own providers and users
			killDuringStoreAndErase(t, keyring, faultBin, scenarios)
		})
	}
}

// scenario is one interrupted operation: before is stored first; after is
// stored by the interrupted call (nil: it erases).
type scenario struct {
	name          string
	before, after *cred
	steps         int // write steps it must be killed at
}

// killDuringStoreAndErase runs the scenarios on one provider (and user):
// each step starts on an empty keyring, as checkAfterCrash leaves it (it
// fails the step otherwise). A provider per step took 38 start-ups per
// keyring, 80 s on KeePassXC.
func killDuringStoreAndErase(t *testing.T, on, faultBin string, scenarios []scenario) {
	const server = "crash.example"
	shared := newEnvOn(t, on)
	shared.forceChunks(512)
	kills := 0
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			defer func(before int) {
				if got := kills - before; got < sc.steps {
					t.Errorf("killed at %d write steps, want %d", got, sc.steps)
				}
			}(kills)
			for n := 1; ; n++ {
				e := shared.in(t)
				if items, err := e.kr.Items(keyring.Service); err != nil || len(items) != 0 {
					t.Fatalf("step %d starts on a keyring holding %q (%v)", n, items, err)
				}
				if sc.before != nil {
					e.mustStore(server, sc.before.user, sc.before.secret)
				}
				in, verb := server, "erase"
				if sc.after != nil {
					in, verb = storeJSON(server, sc.after.user, sc.after.secret), "store"
				}
				r := e.runBin(testenv.Wrap(e.t, e.user, faultBin), map[string]string{"REGCRED_FAULT_AT": fmt.Sprint(n)}, in, verb)
				killed := r.code == -1
				if !killed && r.code != 0 {
					t.Fatalf("step %d: %s exited %d: %s", n, verb, r.code, r.stdout)
				}
				if killed {
					kills++
				}
				checkAfterCrash(t, e, server, sc.before, sc.after, n)
				if !killed {
					return // the operation ran past its last write
				}
			}
		})
	}
	t.Logf("killed the helper at %d distinct write steps", kills)
}

// checkAfterCrash checks the store's state after an interrupted operation.
func checkAfterCrash(t *testing.T, e *env, server string, before, after *cred, step int) {
	t.Helper()
	r := e.run(server, "get")
	var got *cred
	if r.code == 0 {
		var c struct{ Username, Secret string }
		if err := json.Unmarshal([]byte(r.stdout), &c); err != nil {
			t.Fatalf("step %d: get printed %q", step, r.stdout)
		}
		got = &cred{c.Username, c.Secret}
	} else if r.stdout != "credentials not found in native keychain\n" {
		t.Fatalf("step %d: get failed: %s", step, r.stdout)
	}
	switch {
	case got == nil && before != nil && after != nil:
		t.Errorf("step %d: an interrupted overwrite lost the old credential", step)
	case got != nil && !(before != nil && *got == *before) && !(after != nil && *got == *after):
		t.Errorf("step %d: get returned %q/%d bytes: neither the old nor the new credential", step, got.user, len(got.secret))
	}
	if got != nil {
		if l := e.list(); len(l) != 1 || l[server] != got.user {
			t.Errorf("step %d: list says %v, get says %q", step, l, got.user)
		}
	}
	if !accounted(t, e) {
		// Allowed only if doctor sees it and --fix repairs it.
		d := e.run("", "doctor")
		if !strings.Contains(d.stdout, "✗ keyring items in order") {
			t.Errorf("step %d: a keyring item list does not account for, and doctor does not report it:\n%s", step, d.stdout)
		}
		if fix := e.run("", "doctor", "--fix"); !strings.Contains(fix.stdout, "✓ keyring items in order") {
			t.Errorf("step %d: doctor --fix did not repair:\n%s%s", step, fix.stdout, fix.stderr)
		}
		if !accounted(t, e) {
			t.Errorf("step %d: still unaccounted after doctor --fix", step)
		}
	}
	// The next write to the entry cleans up whatever the crash left.
	if r := e.run(server, "erase"); r.code != 0 {
		t.Fatalf("step %d: erase after crash: %s", step, r.stdout)
	}
	if items, _ := e.kr.Items(keyring.Service); len(items) != 0 {
		t.Errorf("step %d: after erase the keyring still holds %q", step, items)
	}
}

// accounted reports whether doctor finds the keyring in order: no chunk
// item that no credential uses, no item it cannot read.
func accounted(t *testing.T, e *env) bool {
	t.Helper()
	r := e.run("", "doctor")
	return strings.Contains(r.stdout, "✓ keyring items in order")
}

// runBin runs another build of the helper with extra environment.
func (e *env) runBin(bin string, extra map[string]string, stdin string, args ...string) result {
	e.t.Helper()
	saved := e.bin
	e.bin = bin
	defer func() { e.bin = saved }()
	for k, v := range extra {
		e.vars[k] = v
		defer delete(e.vars, k)
	}
	return e.run(stdin, args...)
}

// TestKillLoop is the randomized companion of TestKillDuringStoreAndErase
// (run by `make stress`): hundreds of stores and erases of one registry,
// each killed with SIGKILL from outside after a random delay, with the same
// checks after every kill.
func TestKillLoop(t *testing.T) {
	if os.Getenv("REGCRED_STRESS") == "" {
		t.Skip("stress test: run by `make stress` (REGCRED_STRESS=1)")
	}
	runs := 300
	if n, err := strconv.Atoi(os.Getenv("REGCRED_KILL_RUNS")); err == nil {
		runs = n
	}
	// The keyrings side by side, each with its own provider and user. Each
	// loop spreads its kills over the time a run takes now (killWindow),
	// which the others' load changes as they start and end: a window
	// measured once, before, had too few runs killed mid-way in parallel.
	// A run on KeePassXC waits out the save the last one started (about 0.3
	// s a run, where the others take 0.1 s or less): its runs are shared
	// between two KeePassXCs of their own, so that it ends with the others.
	for _, k := range keyrings {
		shares := 1
		if k == string(launch.KeePassXC) {
			shares = 2
		}
		for s := range shares {
			name := k
			if shares > 1 {
				name = fmt.Sprintf("%s-%d", k, s+1)
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				killLoop(t, newEnvOn(t, k), runs/shares)
			})
		}
	}
}

func killLoop(t *testing.T, e *env, runs int) {
	e.forceChunks(512)
	const server = "loop.example"
	written := map[cred]bool{}
	window := killWindow{typical: runTime(t, e, server, written)}
	killed, completed := 0, 0
	for i := range runs {
		c := cred{fmt.Sprintf("user%d", i%4), strings.Repeat(fmt.Sprint(i%10), 1+rand.IntN(3000))}
		verb, in := "store", storeJSON(server, c.user, c.secret)
		if i%4 == 3 {
			verb, in = "erase", server
		} else {
			written[c] = true
		}
		cmd := exec.Command(e.bin, verb)
		for k, v := range e.vars {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
		cmd.Stdin = strings.NewReader(in)
		var out strings.Builder
		cmd.Stdout = &out
		start := time.Now()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		probe := i%10 == 5 // left to complete: the window is measured on it
		var kill <-chan time.Time
		if !probe {
			kill = time.After(window.delay())
		}
		var err error
		select {
		case err = <-exited:
			if err == nil && probe {
				window.ran(time.Since(start))
			}
		case <-kill:
			_ = cmd.Process.Kill()
			err = <-exited
		}
		switch ws, _ := cmd.ProcessState.Sys().(syscall.WaitStatus); {
		case err == nil && probe: // measured, not counted
		case err == nil:
			completed++
		case ws.Signaled():
			killed++
		default: // it ran to the end and failed: a bug, not a kill
			t.Fatalf("run %d: %s failed on its own: %v: %s", i, verb, err, out.String())
		}
		r := e.run(server, "get")
		if r.code == 0 {
			var got struct{ Username, Secret string }
			if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
				t.Fatal(err)
			}
			if !written[cred{got.Username, got.Secret}] {
				t.Fatalf("run %d: get returned a credential nobody wrote: %q/%d bytes", i, got.Username, len(got.Secret))
			}
			if l := e.list(); len(l) != 1 || l[server] != got.Username {
				t.Fatalf("run %d: list says %v, get says %q", i, l, got.Username)
			}
		} else if r.stdout != "credentials not found in native keychain\n" {
			t.Fatalf("run %d: get failed: %s", i, r.stdout)
		}
		if !accounted(t, e) {
			if d := e.run("", "doctor"); !strings.Contains(d.stdout, "✗ keyring items in order") {
				t.Fatalf("run %d: an unaccounted item doctor does not report:\n%s", i, d.stdout)
			}
			e.run("", "doctor", "--fix")
			if !accounted(t, e) {
				t.Fatalf("run %d: doctor --fix did not repair", i)
			}
		}
	}
	t.Logf("kill loop: %d runs, kills spread over %v at the end, %d killed mid-way, %d completed before their kill, the rest left to complete; nothing lost or mixed", runs, window.span(), killed, completed)
	if killed < runs/4 || completed == 0 {
		t.Errorf("%d of %d runs were killed mid-way and %d completed before their kill: want at least a quarter killed, and some completed", killed, runs, completed)
	}
}

// killWindow is how long the kill loop waits before a kill: a random time
// up to 5/4 of what a whole run takes now, so that kills land throughout a
// run on a fast keyring (the kernel's: a few milliseconds) as on a slow one
// (a Secret Service round trip per item), and some runs finish. (A window
// of 3/4 of the median run let none finish on the kernel keyring in one CI
// run, 300 of 300 killed: a run finished only if it beat its kill, so only
// when it took under 3/4 of the median — and on the kernel keyring runs
// barely vary.) It follows one run in ten, left to complete: a moving
// average, so that a load that comes or goes (the other loops beside it)
// moves it within a few of them. The runs that happen to complete before
// their kill would bias it: they are the short ones.
type killWindow struct{ typical time.Duration }

func (w *killWindow) span() time.Duration  { return w.typical * 5 / 4 }
func (w *killWindow) delay() time.Duration { return rand.N(w.span()) }

// ran counts a run, left to complete, that took took.
func (w *killWindow) ran(took time.Duration) { w.typical = (3*w.typical + took) / 4 }

// runTime is the median time of a few uninterrupted chunked stores on e's
// keyring: the kill window's start.
func runTime(t *testing.T, e *env, server string, written map[cred]bool) time.Duration {
	t.Helper()
	var took []time.Duration
	for i := range 5 {
		c := cred{"user0", strings.Repeat(fmt.Sprint(i), 3000)}
		written[c] = true
		start := time.Now()
		if r := e.run(storeJSON(server, c.user, c.secret), "store"); r.code != 0 {
			t.Fatalf("store: exit %d: %s", r.code, r.stdout)
		}
		took = append(took, time.Since(start))
	}
	slices.Sort(took)
	return took[len(took)/2]
}
