package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/regcred/regcred/internal/testenv"
)

// flatResult is list over a small and a large index, measured interleaved.
type flatResult struct {
	small, large int
	runs         int
	smallSamples []sample
	largeSamples []sample
}

func (f flatResult) ratio() float64 {
	return median(f.largeSamples, ms) / median(f.smallSamples, ms)
}

// flatness measures how regcred's list grows with N the way a ratio should
// be measured: list over `small` credentials and over the bench's `large`,
// alternated in a fresh random order each run and within the same seconds.
// In the size sections a call may follow another helper's write, and with
// many items a call after a write is slower whatever it does (`version`
// after an `erase` at 2000 keyring items took 2.04 ms, after another
// `version` 1.76 ms, with gnome-keyring idle in between); here list follows
// only list. The small set is real: regcred stores `small` credentials into
// a second gnome-keyring (list shows everything in its keyring, so a second
// configuration directory on the same keyring would list all `large`).
func (b *bench) flatness(small, large, runs int) (flatResult, error) {
	res := flatResult{small: small, large: large, runs: runs}
	sdir := filepath.Join(b.dir, "flat")
	if err := os.MkdirAll(sdir, 0o700); err != nil {
		return res, err
	}
	other, err := testenv.StartSession(sdir, testenv.Unlocked)
	if err != nil {
		return res, err
	}
	defer other.Stop()
	smallEnv := other.Env()
	call := func(env []string, verb, stdin string) (sample, string, error) {
		cmd := exec.Command(b.bins["regcred"], verb)
		cmd.Env = env
		return b.exec(cmd, "regcred", verb, stdin)
	}
	for i := range small {
		server := fmt.Sprintf("flat-%04d.bench.example", i)
		if _, _, err := call(smallEnv, "store", storeInput(server, "flat", secretFor(i))); err != nil {
			return res, err
		}
	}
	for range runs {
		order := []int{small, large}
		rand.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		for _, n := range order {
			env := b.env
			if n == small {
				env = smallEnv
			}
			s, out, err := call(env, "list", "")
			if err != nil {
				return res, err
			}
			if got := strings.Count(out, ".bench.example"); got != n {
				return res, fmt.Errorf("regcred list returned %d entries, want %d", got, n)
			}
			if n == small {
				res.smallSamples = append(res.smallSamples, s)
			} else {
				res.largeSamples = append(res.largeSamples, s)
			}
		}
	}
	return res, nil
}
