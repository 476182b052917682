// Command lbdbench measures lbdoctor against the daemons' own checks on a
// large generated fixture, and lbdoctor's host gathering against "ss -ltnp"
// on a busy host, as issue 6 asks:
//
//	go run ./cmd/lbdbench [-scale 1,2,4] [-runs 5] [-out DIR] [-conns 70000]
//
// At scale 1 the fixture has 10,000 nginx server blocks in 2,000 included
// files with 20,000 listens on 2,000 VIPs, 2,000 HAProxy frontends with
// 4,000 binds and 250 keepalived instances, plus the host snapshot of a
// node holding half of the VIPs. Each scale multiplies every count.
//
// For each scale it times "lbdoctor check --root FIXTURE --host SNAPSHOT"
// against "nginx -t" plus "haproxy -c" on the same files and prints the
// median and best wall time, the peak RSS and the ratios to the targets:
// lbdoctor in at most half the daemons' time, with a peak RSS no higher
// than nginx -t's. Then it builds a namespace with -conns established
// loopback connections and times "lbdoctor snapshot" against "ss -ltnp"
// there (target: at most half).
//
// nginx -t binds its listen sockets, so the daemons run in a throwaway
// network namespace whose ifb interface holds the VIPs; it needs root. With
// -smoke it runs everything at a tiny size, once, as "make test" does.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/lbdoctor/lbdoctor/cmd/lbdbench/fixture"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// config is what the flags ask for.
type config struct {
	scales   []float64
	runs     int
	out      string // fixtures and the lbdoctor binary; a temporary directory when empty
	conns    int    // established connections of the busy host
	lbdoctor string // a prebuilt lbdoctor; built from this module when empty
	self     string // a program that runs connsHelperCmd
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == connsHelperCmd {
		return connsHelper(args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == spawnHelperCmd {
		return spawnHelper(os.Stdin, stdout)
	}
	fl := flag.NewFlagSet("lbdbench", flag.ContinueOnError)
	fl.SetOutput(stderr)
	scales := fl.String("scale", "1,2,4", "fixture sizes to measure, as multiples of issue 6's fixture (comma-separated)")
	var cfg config
	fl.IntVar(&cfg.runs, "runs", 5, "times each command runs; the table shows the median and the best")
	fl.StringVar(&cfg.out, "out", "", "keep the fixtures and the lbdoctor binary in `DIR` (default: a temporary directory, removed)")
	fl.IntVar(&cfg.conns, "conns", 70000, "established loopback connections of the busy host (0: skip the host benchmark)")
	fl.StringVar(&cfg.lbdoctor, "lbdoctor", "", "time this lbdoctor `binary` instead of building one")
	smoke := fl.Bool("smoke", false, "tiny sizes, one run: check that the benchmark works, not how fast")
	if err := fl.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *smoke {
		*scales, cfg.runs, cfg.conns = "0.005", 1, 1000
	}
	var err error
	if cfg.scales, err = parseScales(*scales); err != nil || cfg.runs < 1 || cfg.conns < 0 {
		fmt.Fprintf(stderr, "lbdbench: bad flags: -scale %q -runs %d -conns %d\n", *scales, cfg.runs, cfg.conns)
		return 2
	}
	if cfg.self, err = os.Executable(); err != nil {
		fmt.Fprintf(stderr, "lbdbench: %v\n", err)
		return 1
	}
	if err := bench(ctx, cfg, stdout); err != nil {
		fmt.Fprintf(stderr, "lbdbench: %v\n", err)
		return 1
	}
	return 0
}

func parseScales(s string) ([]float64, error) {
	var out []float64
	for _, f := range strings.Split(s, ",") {
		v, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil || v <= 0 || v > 64 {
			return nil, fmt.Errorf("bad scale %q", f)
		}
		out = append(out, v)
	}
	return out, nil
}

// missingTools says what the daemon and host benchmarks lack on this
// machine, or "" when they can run.
func missingTools() string {
	if os.Geteuid() != 0 {
		return "not root: network namespaces need root"
	}
	var missing []string
	for _, t := range []string{"ip", "ss", "nginx", "haproxy"} {
		if _, err := exec.LookPath(t); err != nil {
			missing = append(missing, t)
		}
	}
	if len(missing) > 0 {
		return "missing " + strings.Join(missing, ", ")
	}
	return ""
}

// bench generates the fixtures, times everything and prints the tables.
func bench(ctx context.Context, cfg config, w io.Writer) (err error) {
	if why := missingTools(); why != "" {
		return errors.New(why)
	}
	out := cfg.out
	if out == "" {
		if out, err = os.MkdirTemp("", "lbdbench-"); err != nil {
			return err
		}
		defer os.RemoveAll(out)
	}
	lbdoctor := cfg.lbdoctor
	if lbdoctor == "" {
		lbdoctor = filepath.Join(out, "lbdoctor")
		if err := buildLbdoctor(ctx, lbdoctor); err != nil {
			return err
		}
	}
	var fixtures []*fixture.Fixture
	maxVIPs := 0
	for _, s := range cfg.scales {
		f, err := fixture.Write(filepath.Join(out, "scale-"+strconv.FormatFloat(s, 'f', -1, 64)), s)
		if err != nil {
			return fmt.Errorf("write fixture: %w", err)
		}
		fixtures = append(fixtures, f)
		maxVIPs = max(maxVIPs, f.VIPs)
	}
	vips := make([]netip.Addr, maxVIPs)
	for k := range vips {
		vips[k] = fixture.VIP(k)
	}
	sweepStale(ctx)
	// The daemons' namespace holds the VIPs; the busy host is another
	// one, with nothing but its connections, so that host gathering is
	// timed on sockets, not on thousands of addresses.
	if err := inNetns(ctx, "cfg", vips, func(sp *spawner) error {
		floor, err := sp.floor()
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "lbdbench: every command %d times, interleaved; wall time median (best); peak RSS = largest ru_maxrss (%s for /bin/true)\n\n", cfg.runs, mib(floor))
		return benchConfigs(ctx, cfg, sp, lbdoctor, fixtures, w)
	}, cfg.self); err != nil || cfg.conns == 0 {
		return err
	}
	return inNetns(ctx, "host", nil, func(sp *spawner) error {
		return benchHost(ctx, cfg, sp, lbdoctor, w)
	}, cfg.self)
}

// inNetns runs fn in a new namespace holding vips, with a spawner that
// starts programs there (self understands spawnHelperCmd); the namespace
// goes when fn returns.
func inNetns(ctx context.Context, role string, vips []netip.Addr, fn func(*spawner) error, self string) (err error) {
	ns, err := newNetns(ctx, fmt.Sprintf("%s%d-%s", netnsPrefix, os.Getpid(), role), vips)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, ns.close()) }()
	return ns.do(func() (err error) {
		sp, err := startSpawner(ctx, self)
		if err != nil {
			return err
		}
		defer func() { err = errors.Join(err, sp.close()) }()
		return fn(sp)
	})
}

// buildLbdoctor builds cmd/lbdoctor of the module lbdbench is run from, the
// way "make build" does.
func buildLbdoctor(ctx context.Context, bin string) error {
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", bin, "github.com/lbdoctor/lbdoctor/cmd/lbdoctor")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build lbdoctor: %v\n%s", err, out)
	}
	return nil
}

// configRow is one scale's figures.
type configRow struct {
	f                           *fixture.Fixture
	lbd, json, nginx, haproxy   timing
	listeners, errors, warnings int
}

// against is t's time over nginx -t's plus haproxy -c's, and its peak RSS
// over nginx -t's: the two ratios of issue 6's targets.
func (r configRow) against(t timing) (timeRatio, memRatio float64) {
	return float64(t.median) / float64(r.nginx.median+r.haproxy.median), float64(t.peakRSS) / float64(r.nginx.peakRSS)
}

// benchConfigs times lbdoctor check against nginx -t plus haproxy -c at
// every scale and prints the table.
func benchConfigs(ctx context.Context, cfg config, sp *spawner, lbdoctor string, fixtures []*fixture.Fixture, w io.Writer) error {
	var rows []configRow
	for _, f := range fixtures {
		r := configRow{f: f}
		var err error
		if r.listeners, r.errors, r.warnings, err = verdict(ctx, lbdoctor, f); err != nil {
			return err
		}
		check := command{label: "lbdoctor check", argv: []string{lbdoctor, "check", "--no-color", "--root", f.Root, "--host", f.HostYAML()},
			exitOK: func(code int) bool { return code == 0 || code == 1 }}
		// The form CI gates run: the same verdict as a JSON document.
		checkJSON := command{label: "lbdoctor check --json", argv: []string{lbdoctor, "check", "--json", "--root", f.Root, "--host", f.HostYAML()},
			exitOK: check.exitOK}
		nginxT := command{label: "nginx -t", argv: []string{"nginx", "-t", "-c", f.NginxConf()}, exitOK: exitZero}
		haproxyC := command{label: "haproxy -c", argv: []string{"haproxy", "-c", "-f", f.HAProxyCfg()}, exitOK: exitZero}
		t, err := measure(sp, cfg.runs, check, checkJSON, nginxT, haproxyC)
		if err != nil {
			return err
		}
		r.lbd, r.json, r.nginx, r.haproxy = t[0], t[1], t[2], t[3]
		rows = append(rows, r)
	}

	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "scale\tserver blocks\tfiles\tlistens\tVIPs\tfrontends\tbinds\tinstances\tlbdoctor verdict")
	for _, r := range rows {
		f := r.f
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d listeners: %d errors, %d warnings\n",
			scaleName(f.Scale), f.Servers, f.Sites, f.Listens, f.VIPs, f.Frontends, f.Binds, f.Instances, r.listeners, r.errors, r.warnings)
	}
	tw.Flush()
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "scale\tlbdoctor check\tpeak RSS\tnginx -t\tpeak RSS\thaproxy -c\tpeak RSS\ttime ratio\tRSS ratio\t")
	for _, r := range rows {
		ratio, mem := r.against(r.lbd)
		fmt.Fprintf(tw, "%s\t%s (%s)\t%s\t%s (%s)\t%s\t%s (%s)\t%s\t%.2f %s\t%.2f %s\t\n", scaleName(r.f.Scale),
			ms(r.lbd.median), ms(r.lbd.best), mib(r.lbd.peakRSS),
			ms(r.nginx.median), ms(r.nginx.best), mib(r.nginx.peakRSS),
			ms(r.haproxy.median), ms(r.haproxy.best), mib(r.haproxy.peakRSS),
			ratio, verdictMark(ratio <= 0.5), mem, verdictMark(mem <= 1))
	}
	tw.Flush()
	fmt.Fprintln(w, "time ratio = lbdoctor / (nginx -t + haproxy -c), target <= 0.50; RSS ratio = lbdoctor / nginx -t, target <= 1.00")
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "scale	lbdoctor check --json	peak RSS	time ratio	RSS ratio	")
	for _, r := range rows {
		ratio, mem := r.against(r.json)
		fmt.Fprintf(tw, "%s\t%s (%s)\t%s\t%.2f %s\t%.2f %s\t\n", scaleName(r.f.Scale),
			ms(r.json.median), ms(r.json.best), mib(r.json.peakRSS), ratio, verdictMark(ratio <= 0.5), mem, verdictMark(mem <= 1))
	}
	tw.Flush()
	if len(rows) > 1 {
		fmt.Fprint(w, "scaling, median time over the previous scale's (target for 2x the size: <= 2.00):")
		for i := 1; i < len(rows); i++ {
			a, b := rows[i-1], rows[i]
			growth := b.f.Scale / a.f.Scale
			lr := float64(b.lbd.median) / float64(a.lbd.median)
			fmt.Fprintf(w, "\n  %s -> %s: lbdoctor %.2f %s, nginx -t %.2f, haproxy -c %.2f", scaleName(a.f.Scale), scaleName(b.f.Scale),
				lr, verdictMark(lr <= growth), float64(b.nginx.median)/float64(a.nginx.median), float64(b.haproxy.median)/float64(a.haproxy.median))
		}
		fmt.Fprintln(w)
	}
	return nil
}

// verdict runs lbdoctor once with --json and counts what it judged, so a
// fixture that lbdoctor cannot read (an LBD001) fails the benchmark instead
// of timing an early exit.
func verdict(ctx context.Context, lbdoctor string, f *fixture.Fixture) (listeners, errs, warnings int, err error) {
	cmd := exec.CommandContext(ctx, lbdoctor, "check", "--json", "--root", f.Root, "--host", f.HostYAML())
	out, err := cmd.Output()
	var exit *exec.ExitError
	if err != nil && !(errors.As(err, &exit) && exit.ExitCode() == 1) {
		return 0, 0, 0, fmt.Errorf("lbdoctor check --json: %v", err)
	}
	var rep struct {
		Services []struct {
			Listeners []json.RawMessage `json:"listeners"`
		} `json:"services"`
		Findings []struct {
			ID string `json:"id"`
		} `json:"findings"`
		Summary struct{ Errors, Warnings int } `json:"summary"`
	}
	if err := json.Unmarshal(out, &rep); err != nil {
		return 0, 0, 0, fmt.Errorf("lbdoctor check --json: %w", err)
	}
	for _, s := range rep.Services {
		listeners += len(s.Listeners)
	}
	for _, fd := range rep.Findings {
		if fd.ID == "LBD001" {
			return 0, 0, 0, fmt.Errorf("lbdoctor cannot read the fixture %s: an LBD001 finding", f.Root)
		}
	}
	if want := f.Listens + f.Binds; listeners != want {
		return 0, 0, 0, fmt.Errorf("lbdoctor judged %d listeners of the fixture's %d", listeners, want)
	}
	return listeners, rep.Summary.Errors, rep.Summary.Warnings, nil
}

// benchHost times host gathering on a busy host: the namespace with
// cfg.conns established loopback connections held by a helper process.
func benchHost(ctx context.Context, cfg config, sp *spawner, lbdoctor string, w io.Writer) error {
	started := time.Now()
	busy, err := startBusyHost(ctx, cfg.self, cfg.conns)
	if err != nil {
		return err
	}
	defer busy.stop()
	setup := time.Since(started)
	snapshot := command{label: "lbdoctor snapshot", argv: []string{lbdoctor, "snapshot"}, exitOK: exitZero}
	ss := command{label: "ss -ltnp", argv: []string{"ss", "-ltnp"}, exitOK: exitZero}
	t, err := measure(sp, cfg.runs, snapshot, ss)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "\nhost facts on a busy host: %d established loopback connections (%d sockets) held by %d processes, each with a listener (set up in %s)\n",
		cfg.conns, 2*cfg.conns, len(busy.helpers), setup.Round(time.Millisecond))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "lbdoctor snapshot\tpeak RSS\tss -ltnp\tpeak RSS\ttime ratio\t")
	ratio := float64(t[0].median) / float64(t[1].median)
	fmt.Fprintf(tw, "%s (%s)\t%s\t%s (%s)\t%s\t%.2f %s\t\n", ms(t[0].median), ms(t[0].best), mib(t[0].peakRSS),
		ms(t[1].median), ms(t[1].best), mib(t[1].peakRSS), ratio, verdictMark(ratio <= 0.5))
	tw.Flush()
	fmt.Fprintln(w, "time ratio = lbdoctor snapshot / ss -ltnp, target <= 0.50")
	return nil
}

func scaleName(s float64) string { return strconv.FormatFloat(s, 'f', -1, 64) + "x" }

func verdictMark(ok bool) string {
	if ok {
		return "ok"
	}
	return "MISSED"
}
