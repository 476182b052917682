package node

import (
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/lbdoctor/lbdoctor/parsers/container"
)

// TestEngineQuery reads containers from a Docker API on a unix socket, as
// lbdoctor does on a live host with /run/docker.sock: the list, then each
// container's inspect JSON.
func TestEngineQuery(t *testing.T) {
	dir, err := os.MkdirTemp("", "lbd-sock-") // t.TempDir can exceed a socket path's 108 bytes
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "docker.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Skipf("SKIPPED: cannot listen on a unix socket: %v", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/containers/json", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`[{"Id": "abc123"}]`))
	})
	mux.HandleFunc("/containers/abc123/json", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"Name": "/lb", "Config": {"User": "haproxy", "Image": "haproxy:2.8"},
			"HostConfig": {"NetworkMode": "host", "CapAdd": ["NET_BIND_SERVICE"]},
			"Mounts": [{"Type": "bind", "Source": "/srv/lb", "Destination": "/usr/local/etc/haproxy"}]}`))
	})
	srv := &http.Server{Handler: mux}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })

	cs, err := engineQuery(sock)
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 1 {
		t.Fatalf("got %d containers, want 1", len(cs))
	}
	c := cs[0]
	if c.Name != "lb" || c.Engine != container.Docker || !c.HostNetwork() || c.HasCap("NET_BIND_SERVICE") {
		t.Errorf("container %+v: want lb, docker, host network, no effective NET_BIND_SERVICE for user haproxy", c)
	}
	if got := c.HostPath(c.ConfigPath()); got != "/srv/lb/haproxy.cfg" {
		t.Errorf("config on the host %q, want /srv/lb/haproxy.cfg", got)
	}
	if _, err := engineQuery(filepath.Join(dir, "absent.sock")); err == nil {
		t.Error("an absent socket answered")
	}
}
