package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/regcred/regcred/testenv/launch"
)

// providerOps are the operations measured on each provider: relogin stores
// over an existing credential, as a second docker login does.
var providerOps = []string{"get", "list", "store", "relogin", "erase"}

// writeGap is the pause before each write of the measured runs and the
// fill (not timed). KeePassXC saves its database 150 ms after a change, in
// a thread, and a write that lands during that save can crash it. regcred
// keeps its own writes out of the saves; the upstream helper does not, and
// with a gap of 200 ms it crashed KeePassXC during this benchmark, taking
// both helpers' figures with it. 500 ms lets every save (about 250 ms with
// the tests' 100 ms key derivation) end before the next write, whichever
// helper writes. The parallel logins below keep no gap.
const writeGap = 500 * time.Millisecond

// hangLimit bounds each call on a provider: a call that waits for a
// person (an upstream helper's re-login on KeePassXC before 2.7.6) is
// reported as hanging, not waited for.
const hangLimit = 10 * time.Second

// providerBench measures regcred and the upstream secretservice helper on
// each of the other Secret Service providers, N credentials each, and
// 20 parallel logins of each helper: did the provider survive them?
func (b *bench) providerBench(providers []launch.Provider, n, runs int, log io.Writer) (string, error) {
	var w strings.Builder
	fmt.Fprintf(&w, "## Other Secret Service providers (N = %d)\n\n", n)
	fmt.Fprintf(&w, "Each provider runs headless on a private D-Bus session with a throw-away database or wallet (as in the tests), shared by both helpers; %d paired runs, medians; a call is stopped after %v. Every write (the fill included) follows a pause of %v, not timed: KeePassXC crashes when a write lands during its autosave, which regcred avoids and the upstream helper does not (see the README's provider table). `relogin` stores over an existing credential, as a second `docker login` does. `parallel logins` starts 20 store processes of one helper at once (distinct registries), 3 times, on a fresh provider: did the provider stay up, and is every credential there?\n\n", runs, hangLimit, writeGap)
	fmt.Fprintf(&w, "| provider | op | regcred ms | secretservice ms | regcred / secretservice |\n| --- | --- | ---: | ---: | ---: |\n")
	var survival strings.Builder
	for _, p := range providers {
		fmt.Fprintf(log, "benchtool: %s: %d credentials, %d paired runs\n", p, n, runs)
		res, version, err := b.onProvider(p, n, runs)
		if err != nil {
			return "", fmt.Errorf("%s: %w", p, err)
		}
		for _, op := range providerOps {
			ours, base := res[op]["regcred"], res[op]["secretservice"]
			fmt.Fprintf(&w, "| %s | %s | %s | %s | %s |\n", version, op, cell(ours), cell(base), ratioCell(ours, base))
		}
		for _, h := range []string{"regcred", "secretservice"} {
			verdict, err := b.parallelLogins(p, h)
			if err != nil {
				return "", fmt.Errorf("%s, %s parallel logins: %w", p, h, err)
			}
			fmt.Fprintf(&survival, "| %s | %s | %s |\n", version, h, verdict)
		}
	}
	fmt.Fprintf(&w, "\n| provider | helper | 20 parallel logins, 3 rounds |\n| --- | --- | --- |\n%s\n", survival.String())
	return w.String(), nil
}

// timing is one operation's medians, or why there is none.
type timing struct {
	ms    float64
	hung  bool
	fails string // the helper's first error on this provider
}

func cell(t timing) string {
	switch {
	case t.fails != "":
		return "fails: " + t.fails
	case t.hung:
		return fmt.Sprintf("hangs (> %v)", hangLimit)
	}
	return fmt.Sprintf("%.1f", t.ms)
}

func ratioCell(ours, base timing) string {
	if ours.hung || base.hung || ours.fails != "" || base.fails != "" {
		return "–"
	}
	return fmt.Sprintf("%.2f×", ours.ms/base.ms)
}

// providerSession starts p on a fresh private bus in the bench directory.
func (b *bench) providerSession(p launch.Provider) (*launch.Session, func(), error) {
	dir, err := os.MkdirTemp("", "regcred-bench-provider-")
	if err != nil {
		return nil, nil, err
	}
	s, err := launch.StartProvider(dir, p, launch.Unlocked)
	if err != nil {
		os.RemoveAll(dir)
		return nil, nil, err
	}
	return s, func() { s.Stop(); os.RemoveAll(dir) }, nil
}

// onProvider fills a fresh p with n credentials per helper and measures
// providerOps; it returns the medians and the provider as doctor names it.
func (b *bench) onProvider(p launch.Provider, n, runs int) (map[string]map[string]timing, string, error) {
	s, stop, err := b.providerSession(p)
	if err != nil {
		return nil, "", err
	}
	defer stop()
	env := s.Env()
	version := string(p)
	// doctor exits 1 when it warns (KeePassXC's faults), naming it all the same.
	doc, _ := b.timed(env, b.bins["regcred"], "", "doctor")
	for _, l := range strings.Split(doc, "\n") {
		if _, v, ok := strings.Cut(l, "Secret Service provider on the bus: "); ok {
			version = strings.TrimSpace(v)
		}
	}
	helpers := []string{"regcred", "secretservice"}
	// fails holds a helper's first error: regcred's ends the run, an
	// upstream helper's is reported in its cells.
	fails := map[string]string{}
	fail := func(h, op string, err error) error {
		if !s.Alive() {
			// KeePassXC 2.7.4 crashes when a write lands during its
			// autosave (README): said in every cell, not a failed bench.
			for _, other := range helpers {
				fails[other] = fmt.Sprintf("the provider crashed (seen by a %s of %s)", op, h)
			}
			return nil
		}
		if h == "regcred" {
			return fmt.Errorf("regcred %s: %w", op, err)
		}
		fails[h] = firstLine(err.Error())
		return nil
	}
	for i := range n {
		for _, h := range helpers {
			if fails[h] != "" {
				continue
			}
			server := fmt.Sprintf("%s-%04d.bench.example", h, i)
			time.Sleep(writeGap)
			if _, err := b.timed(env, b.bins[h], storeInput(server, "user", secretFor(i)), "store"); err != nil {
				if err := fail(h, "store", err); err != nil {
					return nil, "", err
				}
			}
		}
	}
	samples := map[string]map[string][]sample{}
	hung := map[string]map[string]bool{}
	for _, op := range providerOps {
		samples[op], hung[op] = map[string][]sample{}, map[string]bool{}
	}
	for r := range runs {
		for _, h := range helpers {
			own := fmt.Sprintf("%s-%04d.bench.example", h, (r*7919)%n)
			fresh := fmt.Sprintf("%s-fresh-%d.bench.invalid", h, r)
			steps := []struct{ op, in, verb string }{
				{"get", own, "get"},
				{"list", "", "list"},
				{"store", storeInput(fresh, "fresh", "fresh-secret"), "store"},
				{"relogin", storeInput(fresh, "again", "another-secret"), "store"},
				{"erase", fresh, "erase"},
			}
			for _, st := range steps {
				if hung[st.op][h] || fails[h] != "" {
					continue
				}
				if st.verb != "get" && st.verb != "list" {
					time.Sleep(writeGap) // untimed
				}
				start := time.Now()
				_, err := b.timed(env, b.bins[h], st.in, st.verb)
				switch {
				case err == context.DeadlineExceeded:
					hung[st.op][h] = true
				case err != nil:
					if err := fail(h, st.op, err); err != nil {
						return nil, "", err
					}
				default:
					samples[st.op][h] = append(samples[st.op][h], sample{wall: time.Since(start)})
				}
			}
		}
	}
	out := map[string]map[string]timing{}
	for _, op := range providerOps {
		out[op] = map[string]timing{}
		for _, h := range helpers {
			t := timing{hung: hung[op][h], fails: fails[h]}
			if len(samples[op][h]) > 0 {
				t.ms = median(samples[op][h], ms)
			}
			out[op][h] = t
		}
	}
	return out, version, nil
}

// timed runs one helper call in env, stopped after hangLimit
// (context.DeadlineExceeded).
func (b *bench) timed(env []string, bin, stdin string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), hangLimit)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = env
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.Output()
	if ctx.Err() != nil {
		return string(out), context.DeadlineExceeded
	}
	if err != nil {
		return string(out), fmt.Errorf("%v: %s", err, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}

// parallelLogins runs 3 rounds of 20 simultaneous stores of helper h on a
// fresh provider p, then says whether p survived and kept every one.
func (b *bench) parallelLogins(p launch.Provider, h string) (string, error) {
	s, stop, err := b.providerSession(p)
	if err != nil {
		return "", err
	}
	defer stop()
	env := s.Env()
	failed := 0
	for round := range 3 {
		var wg sync.WaitGroup
		var mu sync.Mutex
		for i := range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				server := fmt.Sprintf("p%d-%02d.bench.example", round, i)
				if _, err := b.timed(env, b.bins[h], storeInput(server, "user", secretFor(i)), "store"); err != nil {
					mu.Lock()
					failed++
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
	}
	alive := s.Alive()
	kept := 0
	if alive {
		out, err := b.timed(env, b.bins[h], "", "list")
		if err != nil {
			return fmt.Sprintf("provider up; %d of 60 stores failed; list fails: %s", failed, firstLine(err.Error())), nil
		}
		kept = strings.Count(out, ".bench.example")
	}
	switch {
	case !alive:
		return fmt.Sprintf("**the provider crashed**; %d of 60 stores failed", failed), nil
	case failed > 0 || kept != 60:
		return fmt.Sprintf("provider up; %d of 60 stores failed, %d credentials kept", failed, kept), nil
	default:
		return "provider up; all 60 stored and kept", nil
	}
}

// firstLine is an error's first line, without the exit status: a table cell.
func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if _, rest, ok := strings.Cut(s, ": "); ok && strings.HasPrefix(s, "exit status") {
		s = rest
	}
	return strings.ReplaceAll(s, "|", "/")
}
