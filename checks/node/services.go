package node

import (
	"path/filepath"
	"slices"
	"strings"

	"github.com/lbdoctor/lbdoctor/parsers"
	"github.com/lbdoctor/lbdoctor/parsers/apache"
	"github.com/lbdoctor/lbdoctor/parsers/envoy"
	"github.com/lbdoctor/lbdoctor/parsers/postgresql"
	"github.com/lbdoctor/lbdoctor/parsers/redis"
	"github.com/lbdoctor/lbdoctor/parsers/systemd"
)

// ServiceKind is a service behind the VIP beyond nginx, HAProxy and
// keepalived: its flag, where its configs are looked for, its systemd unit
// and its parser. Adding a service is a parser and one entry in
// MoreServices.
type ServiceKind struct {
	// Name is services[].service, the flag (--name) and the key of
	// .lbdoctor.yaml.
	Name string
	Help string
	// defaults are the paths (globs) looked at without a flag; every
	// match is a config of its own (two PostgreSQL clusters, Redis and its
	// Sentinel). A kind with none found is not listed at all.
	defaults []string
	// unit is the systemd unit that runs the daemon reading path, or "".
	unit func(path string) string
	// runAs, when set, is the user the daemon runs as when its unit names
	// none, because the unit's program drops to it (pg_ctlcluster).
	runAs string
	// detect, when set, finds the configs instead of defaults.
	detect func(root parsers.Root) []string
	Parse  func(path string, root parsers.Root) (*parsers.Config, error)
}

// MoreServices are the extra kinds, in the contract's service order.
func MoreServices() []ServiceKind {
	return []ServiceKind{
		{
			Name:     "apache",
			Help:     "an Apache httpd main config `PATH` (repeatable; default: autodetect /etc/apache2/apache2.conf, /etc/httpd/conf/httpd.conf)",
			defaults: []string{"/etc/apache2/apache2.conf", "/etc/httpd/conf/httpd.conf"},
			unit: func(p string) string {
				if strings.Contains(p, "/httpd/") {
					return "httpd.service"
				}
				return "apache2.service"
			},
			Parse: parseApache,
		},
		{
			Name:     "postgresql",
			Help:     "a PostgreSQL postgresql.conf, or a data directory holding one, `PATH` (repeatable; default: autodetect /etc/postgresql/*/*/postgresql.conf, /var/lib/pgsql/data, /var/lib/pgsql/*/data)",
			defaults: []string{"/etc/postgresql/*/*/postgresql.conf", "/var/lib/pgsql/data/postgresql.conf", "/var/lib/pgsql/*/data/postgresql.conf"},
			// Debian's postgresql@VERSION-CLUSTER.service runs pg_ctlcluster
			// as root, which starts the server as the cluster's owner,
			// postgres, without capabilities. RHEL's unit says User=postgres.
			unit: func(p string) string {
				if strings.HasPrefix(p, "/var/lib/pgsql/") {
					return "postgresql.service"
				}
				parts := strings.Split(p, "/")
				if len(parts) == 6 && parts[1] == "etc" && parts[2] == "postgresql" {
					return "postgresql@" + parts[3] + "-" + parts[4] + ".service"
				}
				return ""
			},
			runAs: "postgres",
			Parse: func(p string, root parsers.Root) (*parsers.Config, error) {
				if st, err := root.Stat(p); err == nil && st.IsDir() {
					p = filepath.Join(p, "postgresql.conf")
				}
				// Debian's server keeps its sockets in /var/run/postgresql, RHEL's
				// in /run/postgresql and /tmp.
				opts := postgresql.Options{Root: root}
				if strings.HasPrefix(p, "/var/lib/pgsql/") {
					opts.SocketDir = "/run/postgresql,/tmp"
				}
				return postgresql.Parse(p, opts)
			},
		},
		{
			Name:     "redis",
			Help:     "a Redis or Redis Sentinel config `PATH` (repeatable; default: autodetect /etc/redis/redis.conf, /etc/redis/sentinel.conf, /etc/redis.conf, /etc/redis-sentinel.conf)",
			defaults: []string{"/etc/redis/redis.conf", "/etc/redis/sentinel.conf", "/etc/redis.conf", "/etc/redis-sentinel.conf"},
			unit: func(p string) string {
				if isSentinel(p) {
					return "redis-sentinel.service"
				}
				if strings.HasPrefix(p, "/etc/redis/") {
					return "redis-server.service"
				}
				return "redis.service"
			},
			Parse: func(p string, root parsers.Root) (*parsers.Config, error) {
				return redis.Parse(p, redis.Options{Root: root, Sentinel: isSentinel(p)})
			},
		},
		{
			Name:     "envoy",
			Help:     "an Envoy bootstrap config `PATH`, YAML or JSON (repeatable; default: autodetect /etc/envoy/envoy.yaml, /etc/envoy/envoy.yml, /etc/envoy/envoy.json)",
			defaults: []string{"/etc/envoy/envoy.yaml", "/etc/envoy/envoy.yml", "/etc/envoy/envoy.json"},
			unit:     func(string) string { return "envoy.service" },
			Parse: func(p string, root parsers.Root) (*parsers.Config, error) {
				return envoy.Parse(p, envoy.Options{Root: root})
			},
		},
		{
			// systemd itself binds the sockets of its socket units, as
			// root, at boot: no unit user to judge.
			Name:   parsers.SocketService,
			Help:   "a systemd .socket unit file `PATH` (repeatable; its drop-ins are read by its name; default: every socket unit enabled in a .wants/ or .requires/ directory)",
			detect: detectSockets,
			Parse: func(p string, root parsers.Root) (*parsers.Config, error) {
				// A file (the flag, a found fragment), or an instance's name.
				if _, err := root.Stat(p); err == nil {
					return systemd.ReadSocketFile(root, p)
				}
				return systemd.ReadSocket(root, p)
			},
		},
	}
}

// detectSockets lists the enabled socket units that are not masked and
// ask for an IP socket (or that systemd would refuse): the unit file of
// each (the instance's name for a template's instance). Units of unix
// sockets alone (journald's, D-Bus's) are every host's and no VIP's.
func detectSockets(root parsers.Root) []string {
	var out []string
	for _, n := range systemd.EnabledSockets(root) {
		u, err := systemd.ReadUnit(root, n)
		if err != nil || u == nil || u.Masked || len(u.Files) == 0 {
			continue
		}
		cfg := u.SocketConfig(n)
		if len(cfg.Errors) == 0 && !slices.ContainsFunc(cfg.Listeners, func(l parsers.Listener) bool { return l.Proto != parsers.Unix }) {
			continue
		}
		if strings.Contains(n, "@") {
			out = append(out, n)
			continue
		}
		out = append(out, u.Files[0])
	}
	return out
}

// found are the configs of a kind found without a flag.
func (k ServiceKind) found(root parsers.Root) []string {
	if k.detect != nil {
		return k.detect(root)
	}
	return detectPaths(root, k.defaults)
}

// isSentinel reports whether a Redis config is Sentinel's by its name.
func isSentinel(p string) bool { return strings.Contains(filepath.Base(p), "sentinel") }

// parseApache reads an httpd config with the environment its start script
// gives it: Debian's apache2ctl sources envvars next to apache2.conf;
// RHEL's httpd.service reads OPTIONS from /etc/sysconfig/httpd.
func parseApache(p string, root parsers.Root) (*parsers.Config, error) {
	env, defines := apache.StartEnv(root, p)
	return apache.Parse(p, apache.Options{Root: root, Env: env, Defines: defines})
}

// unitFor reads the unit that runs the daemon reading path, nil when it
// has none or it cannot be read (the daemon then runs as its package runs
// it).
func (k ServiceKind) unitFor(root parsers.Root, path string) *systemd.Unit {
	if k.unit == nil {
		return nil
	}
	name := k.unit(path)
	if name == "" {
		return nil
	}
	u, err := systemd.ReadUnit(root, name)
	if err != nil || u == nil {
		return nil
	}
	if u.User == "" && !u.DynamicUser && k.runAs != "" {
		u.User = k.runAs
	}
	return u
}

// detectPaths are the configs found at a kind's default paths, each once.
func detectPaths(root parsers.Root, patterns []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, pat := range patterns {
		matches, _ := root.Glob(pat)
		for _, m := range matches {
			if st, err := root.Stat(m); err == nil && !st.IsDir() && !seen[m] {
				seen[m] = true
				out = append(out, m)
			}
		}
	}
	return out
}
