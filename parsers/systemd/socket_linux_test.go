package systemd

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lbdoctor/lbdoctor/parsers"
)

// TestSystemdAgreesSockets loads each socket unit fixture with the
// installed systemd (`systemd-analyze --root=TREE verify web.socket`, whose
// debug log dumps the loaded unit and warns about each line it ignores)
// and compares the Listen*= sockets, the socket options and the ignored
// lines with ReadSocket's.
func TestSystemdAgreesSockets(t *testing.T) {
	bin, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze is not installed: cannot compare with systemd")
	}
	trees, err := os.ReadDir(socketTestdata)
	if err != nil {
		t.Fatal(err)
	}
	warnRe := regexp.MustCompile(`(?m)^(/\S+):(\d+): (.*)$`)
	compared := 0
	for _, tr := range trees {
		if !tr.IsDir() {
			continue
		}
		t.Run(tr.Name(), func(t *testing.T) {
			root := copyTree(t, filepath.Join(socketTestdata, tr.Name()))
			cfg, err := ReadSocket(parsers.Root(root), "web.socket")
			if err != nil {
				t.Fatal(err)
			}
			u, err := ReadUnit(parsers.Root(root), "web.socket")
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, bin, "--man=no", "--root="+root, "verify", "web.socket")
			cmd.Env = append(os.Environ(), "SYSTEMD_LOG_LEVEL=debug", "SYSTEMD_LOG_COLOR=0")
			out, _ := cmd.CombinedOutput()
			log := string(out)
			if u.Masked {
				if !strings.Contains(log, "Unit web.socket is masked.") {
					t.Errorf("ReadUnit says masked, systemd does not:\n%s", log)
				}
				if len(cfg.Listeners) != 0 {
					t.Errorf("a masked unit has listeners: %v", cfg.Listeners)
				}
				compared++
				return
			}
			d := parseDump(log, root)
			if d == nil {
				t.Fatalf("no unit dump in systemd-analyze's log:\n%s", log)
			}
			// The sockets, as systemd prints them.
			var want, got []string
			for _, k := range []string{"ListenStream", "ListenDatagram", "ListenSequentialPacket"} {
				for _, v := range d[k] {
					want = append(want, k+" "+v)
				}
			}
			for _, l := range cfg.Listeners {
				key := strings.TrimPrefix(l.Context, "web.socket ")
				addr := l.Socket()
				if l.Proto == parsers.Unix {
					addr = l.Path
				}
				got = append(got, key+" "+addr)
			}
			slices.Sort(want)
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Errorf("sockets:\n got  %q\n want %q (systemd)", got, want)
			}
			// The options.
			s := u.Socket
			for k, v := range map[string]string{
				"BindIPv6Only": s.BindIPv6Only,
				"FreeBind":     yesNo(s.FreeBind),
				"Transparent":  yesNo(s.Transparent),
				"ReusePort":    yesNo(s.ReusePort),
				"BindToDevice": s.BindToDevice,
			} {
				if sv, ok := d[k]; ok && (len(sv) != 1 || sv[0] != v) {
					t.Errorf("%s = %q, systemd %q", k, v, sv)
				}
				if _, ok := d[k]; !ok && k == "BindToDevice" && v != "" {
					t.Errorf("BindToDevice = %q, systemd none", v)
				}
			}
			// The lines systemd ignores with a warning, by line number.
			var wantLines, gotLines []string
			for _, m := range warnRe.FindAllStringSubmatch(log, -1) {
				if strings.HasPrefix(m[1], root) {
					wantLines = append(wantLines, fmt.Sprintf("%s:%s %s", strings.TrimPrefix(m[1], root), m[2], strings.ToLower(m[3][:1])+m[3][1:]))
				}
			}
			for _, w := range append(cfg.Errors, cfg.Warnings...) {
				gotLines = append(gotLines, fmt.Sprintf("%s:%d %s", w.Pos.File, w.Pos.Line, w.Msg))
			}
			slices.Sort(wantLines)
			slices.Sort(gotLines)
			if !slices.Equal(gotLines, wantLines) {
				t.Errorf("ignored lines:\n got  %q\n want %q (systemd)", gotLines, wantLines)
			}
			compared++
		})
	}
	t.Logf("compared %d socket units with systemd-analyze", compared)
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
