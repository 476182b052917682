package corpus_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lbdoctor/lbdoctor/parsers/keepalived"
)

// keepalivedBin is the keepalived TestKeepalivedCheck runs.
const keepalivedBin = "/usr/sbin/keepalived"

// kaConfigID is the config id keepalived and lbdoctor both use for the
// corpus, so that they decide the conditional lines (@id) alike.
const kaConfigID = "lbdoctor-corpus"

// kaVerdict is what keepalived -t made of one corpus file.
type kaVerdict struct {
	exit   int    // -1: it did not finish
	out    string // what it printed, the temporary folder taken out
	runs   bool   // keepalived runs this file
	reason string // why runs is what it is, in a few words
}

// TestKeepalivedCheck runs keepalived -t on every keepalived configuration
// of the corpus, each in a network and mount namespace of its own holding
// the interfaces SOURCES.md lists as stand-ins (as bridges) and a /run in
// memory, and holds lbdoctor to it: a file keepalived runs must give no
// config error (LBD001). keepalived -t never runs the scripts a file names;
// the daemon itself would, so it is not started on configurations written
// by others (parsers/keepalived's TestSeverityMatchesKeepalived starts it
// on rows written for the purpose). The verdicts are kept in
// testdata/corpus/keepalived_check.tsv (rewrite with -update).
//
// keepalived -t exits 0 for a clean file, 5 for "configuration errors, but
// keepalived will still run" (keepalived's lib/parser.h), 6 for scripts
// it will run without script_security (it runs, the scripts are
// disabled), and 4, 2, a signal or no exit at all for a file it will not
// run. Three exceptions, all shown with the daemon itself in
// TestSeverityMatchesKeepalived: a checked include (includem, ...) that
// fails exits 6 too, and an instance without a virtual router id, or on an
// interface that does not exist, exits 5 though the daemon stops on it.
func TestKeepalivedCheck(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: not running keepalived")
	}
	if os.Geteuid() != 0 {
		t.Skip("not root: cannot make network namespaces for keepalived -t")
	}
	for _, tool := range []string{keepalivedBin, "ip", "unshare", "timeout"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s missing: %v", tool, err)
		}
	}
	corpus := corpusDir(t)
	var lines []string
	files, runs, withErrors := 0, 0, 0
	for _, e := range entries(t, corpus) {
		if e.daemon != "keepalived" {
			continue
		}
		files++
		s := stage(t, corpus, e)
		v, err := keepalivedCheck(s, standInInterfaces(e.check))
		if err != nil {
			t.Fatalf("%s: %v", e.name(), err)
		}
		cfg, err := keepalived.Parse(s.path, keepalived.Options{Root: s.root, ConfigID: kaConfigID})
		if err != nil {
			t.Fatalf("%s: %v", e.name(), err)
		}
		verdict := "refuses"
		if v.runs {
			verdict = "runs"
			runs++
			if len(cfg.Errors) > 0 {
				withErrors++
			}
			for _, er := range cfg.Errors {
				t.Errorf("%s: keepalived runs this file (%s), lbdoctor reports a config error: %s:%d: %s",
					e.name(), v.reason, s.fileName(e, er.Pos.File), er.Pos.Line, s.clean(er.Msg))
			}
		}
		// lbdoctor's "Unknown keyword" lines are keepalived's: with a
		// net_namespace, keepalived -t checks nothing past the global
		// settings, so it cannot say.
		for _, w := range cfg.DaemonWarnings {
			if strings.HasPrefix(w.Msg, "Unknown keyword '") && cfg.NetNamespace == "" && v.exit >= 0 && !strings.Contains(v.out, w.Msg) {
				t.Errorf("%s: lbdoctor warns %s:%d: %s; keepalived -t does not say so", e.name(), s.fileName(e, w.Pos.File), w.Pos.Line, w.Msg)
			}
		}
		first, _, _ := strings.Cut(strings.TrimSpace(v.out), "\n")
		lines = append(lines, fmt.Sprintf("%s\texit %d\t%s\t%s\t%d errors, %d warnings\t%s",
			e.file, v.exit, verdict, v.reason, len(cfg.Errors), len(cfg.DaemonWarnings), first))
	}
	t.Logf("keepalived -t on %d corpus files: keepalived runs %d of them; %d of those give lbdoctor config errors", files, runs, withErrors)
	got := "# keepalived -t on each corpus configuration (TestKeepalivedCheck; rewrite with -update)\n" +
		"# file\texit\tkeepalived\twhy\tlbdoctor\tfirst line keepalived printed\n" + strings.Join(lines, "\n") + "\n"
	if *update {
		if err := os.WriteFile(kaCheckPath, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(kaCheckPath)
	if err != nil {
		t.Fatalf("%v (run with -update)", err)
	}
	if string(want) != got {
		t.Errorf("keepalived's verdicts differ from %s (review, then -update):\n%s", kaCheckPath, diff(string(want), got))
	}
}

// standInInterfaces picks "eth0,eth1" out of SOURCES.md's "[stand-in
// interfaces: eth0,eth1]".
func standInInterfaces(check string) []string {
	_, rest, ok := strings.Cut(check, "[stand-in interfaces: ")
	if !ok {
		return nil
	}
	list, _, _ := strings.Cut(rest, "]")
	var out []string
	for _, n := range strings.Split(list, ",") {
		if n = strings.TrimSpace(n); n != "" {
			out = append(out, n)
		}
	}
	return out
}

// keepalivedCheck runs keepalived -t on a staged file in its folder, in a
// new network namespace holding the interfaces named (as bridges) and a
// new mount namespace with /run in memory: a net_namespace line makes
// keepalived create a named namespace there.
func keepalivedCheck(s staged, ifaces []string) (kaVerdict, error) {
	v := kaVerdict{exit: -1}
	var b strings.Builder
	b.WriteString("exec 2>&1\nset -e\nmount -t tmpfs lbd-corpus /run\nip link set lo up\n")
	for _, n := range ifaces {
		fmt.Fprintf(&b, "ip link add %s type bridge\nip link set %s up\n", q(n), q(n))
	}
	fmt.Fprintf(&b, "cd %s\nset +e\ntimeout 20 %s -t -f %s -i %s\necho \"lbd-exit=$?\"\n",
		q(filepath.Dir(s.path)), keepalivedBin, q(s.path), kaConfigID)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "unshare", "-n", "-m", "--propagation", "private", "sh", "-c", b.String())
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	out, err := cmd.Output()
	if ctx.Err() != nil {
		return v, fmt.Errorf("keepalived -t did not finish: %v", ctx.Err())
	}
	if err != nil {
		return v, fmt.Errorf("namespace set-up failed: %v: %s", err, out)
	}
	text := string(out)
	i := strings.LastIndex(text, "lbd-exit=")
	if i < 0 {
		return v, fmt.Errorf("no exit code: %s", text)
	}
	fmt.Sscan(text[i+len("lbd-exit="):], &v.exit)
	v.out = s.clean(text[:i])
	switch {
	case v.exit == 124:
		v.exit, v.reason = -1, "does not finish in 20 s"
	case v.exit == 0:
		v.runs, v.reason = true, "clean"
	case v.exit == 5 && strings.Contains(v.out, "the virtual router id must be set"):
		v.reason = "an instance has no virtual router id: the daemon stops"
	case v.exit == 5 && strings.Contains(v.out, "Non-existent interface specified in configuration"):
		// keepalived -t reports its worst class of complaint by number,
		// and a warning outranks CONFIG_BAD_IF: the exit says 5.
		v.reason = "an interface does not exist: the daemon stops (LBD503 judges interfaces against the host)"
	case v.exit == 5:
		v.runs, v.reason = true, "complains and runs"
	case v.exit == 6 && strings.Contains(v.out, "SECURITY VIOLATION"):
		v.runs, v.reason = true, "runs with its scripts disabled"
	case v.exit == 6:
		v.reason = "a checked include failed"
	case v.exit > 128:
		v.reason = fmt.Sprintf("killed by signal %d", v.exit-128)
	default:
		v.reason = "cannot run it"
	}
	return v, nil
}
