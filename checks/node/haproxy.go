package node

import (
	"context"
	"errors"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/lbdoctor/lbdoctor/parsers"
	"github.com/lbdoctor/lbdoctor/parsers/haproxy"
)

// The files the packaged haproxy.service loads as its environment
// (EnvironmentFile=-...), below --root.
var haproxyEnvFiles = []string{"/etc/default/haproxy", "/etc/sysconfig/haproxy"}

// haproxyOptions builds what the HAProxy parser needs to read a config the
// way the service will: its environment (lbdoctor's own, the packaged
// defaults files, then --env files), its version and build features, the
// host name that names the local peer, and name resolution. Problems in
// the environment files come back for the caller to report (systemd skips
// those assignments and starts the service: warnings, LBD005).
func haproxyOptions(o Options, root parsers.Root, hostname string) (haproxy.Options, []parsers.Error, error) {
	opts := haproxy.Options{Root: root, Hostname: hostname, Version: o.HAProxyVersion, Resolve: resolver(root)}
	if b := o.bundle; b != nil {
		// A bundle's configs resolve as they did on the node.
		hosts := opts.Resolve
		opts.Resolve = func(name string) []netip.Addr {
			if addrs, ok := b.Resolved[name]; ok {
				return addrs
			}
			return hosts(name)
		}
		if opts.Version == "" {
			opts.Version, opts.Features = b.HAProxyVersion, b.HAProxyFeatures
		}
	}
	if o.record != nil {
		opts.Resolve = o.record.wrap(opts.Resolve)
	}
	layers := []map[string]string{environ()}
	var errs []parsers.Error
	load := func(path string, optional bool) error {
		env, perrs, err := haproxy.LoadEnvFile(root, path)
		if err != nil {
			if optional && errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		layers = append(layers, env)
		errs = append(errs, perrs...)
		return nil
	}
	for _, p := range haproxyEnvFiles {
		if err := load(p, true); err != nil {
			return opts, nil, err
		}
	}
	for _, p := range o.EnvFiles {
		if err := load(p, false); err != nil {
			return opts, nil, err
		}
	}
	opts.Env = haproxy.EnvLookup(layers...)
	// Only this machine's own haproxy can say what will read a config
	// judged here; a rendered tree or a snapshot may be another version.
	if opts.Version == "" && root == "" && len(o.Hosts) == 0 && o.bundle == nil {
		opts.Version, opts.Features = installedHAProxy()
	}
	return opts, errs, nil
}

func environ() map[string]string {
	env := map[string]string{}
	for _, kv := range os.Environ() {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	return env
}

// installedHAProxy asks the installed haproxy for its version and build
// features ("haproxy -vv" reads no configuration and opens no socket).
func installedHAProxy() (string, []string) {
	bin, err := exec.LookPath("haproxy")
	if err != nil {
		if _, serr := os.Stat("/usr/sbin/haproxy"); serr != nil {
			return "", nil
		}
		bin = "/usr/sbin/haproxy"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "-vv").Output()
	if err != nil {
		return "", nil
	}
	return haproxy.ParseVersionOutput(string(out)), haproxy.ParseFeatureList(string(out))
}

// resolver answers host names as the judged host would at the daemon's
// start: from /etc/hosts below --root, or with this machine's resolver.
func resolver(root parsers.Root) func(string) []netip.Addr {
	if root != "" {
		return parsers.HostsFile(root)
	}
	return func(name string) []netip.Addr {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip", name)
		if err != nil {
			return nil
		}
		for i, a := range addrs {
			addrs[i] = a.Unmap()
		}
		return addrs
	}
}

// resolveLog records the names a parser resolved and the answers.
type resolveLog struct {
	mu    sync.Mutex
	names map[string][]netip.Addr
}

func (r *resolveLog) wrap(resolve func(string) []netip.Addr) func(string) []netip.Addr {
	return func(name string) []netip.Addr {
		addrs := resolve(name)
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.names == nil {
			r.names = map[string][]netip.Addr{}
		}
		r.names[name] = append([]netip.Addr{}, addrs...)
		return addrs
	}
}
