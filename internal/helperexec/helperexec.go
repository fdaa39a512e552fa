// Package helperexec runs another credential helper as the
// credential-helper protocol prescribes — the request on its stdin, the
// answer on its stdout, nothing secret on its command line — for
// docker-credential-helpers' client package, with each run bounded in time
// and what it met kept for the caller's error message.
package helperexec

import (
	"bytes"
	"context"
	"io"
	"os/exec"
	"strings"
	"time"

	"github.com/docker/docker-credential-helpers/client"
)

// Run is what one run of a helper met: the client package keeps only the
// helper's stdout, and makes every failure an error of that text.
type Run struct {
	// Err is the run's own failure: the program not found or not
	// runnable, the time-out (context.DeadlineExceeded), its exit status.
	Err error
	// Stderr is what the helper said on stderr, trimmed.
	Stderr string
}

// Options say how to run the helper.
type Options struct {
	// Path is the program: a path, or a name looked up on PATH.
	Path string
	// Env is the program's environment; nil: this process's.
	Env []string
	// Timeout bounds each run.
	Timeout time.Duration
	// Record, when set, is filled with what each run met.
	Record *Run
}

// Program returns a client.ProgramFunc that runs the helper o names under
// ctx, each run bounded by o.Timeout.
func Program(ctx context.Context, o Options) client.ProgramFunc {
	return func(args ...string) client.Program {
		return &program{ctx: ctx, o: o, args: args}
	}
}

// program is a client.Program whose run is bounded in time.
type program struct {
	ctx  context.Context
	o    Options
	args []string
	in   io.Reader
}

func (p *program) Input(in io.Reader) { p.in = in }

func (p *program) Output() ([]byte, error) {
	run := p.o.Record
	if run == nil {
		run = new(Run)
	}
	path, err := exec.LookPath(p.o.Path)
	if err != nil {
		run.Err = err
		return nil, err
	}
	ctx, cancel := context.WithTimeout(p.ctx, p.o.Timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, p.args...)
	cmd.Env = p.o.Env
	cmd.Stdin = p.in
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.WaitDelay = time.Second // a helper's child holding stdout open
	out, err := cmd.Output()
	if ctx.Err() == context.DeadlineExceeded {
		run.Err = ctx.Err()
		return nil, ctx.Err()
	}
	run.Err, run.Stderr = err, strings.TrimSpace(stderr.String())
	if err != nil && len(bytes.TrimSpace(out)) == 0 && run.Stderr != "" {
		// Said on stderr, where the protocol wants stdout: say it.
		return []byte(run.Stderr), err
	}
	return out, err
}
