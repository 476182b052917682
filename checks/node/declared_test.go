package node

import (
	"fmt"
	"testing"
)

// TestParseDeclaredListen pins the listen forms of a declared service.
func TestParseDeclaredListen(t *testing.T) {
	for _, tt := range []struct {
		in, want string // want: "proto address port", or "!" for an error
	}{
		{"10.0.0.100:5672/tcp", "tcp 10.0.0.100 5672"},
		{"10.0.0.100:5672", "tcp 10.0.0.100 5672"},
		{"10.0.0.100:514/UDP", "udp 10.0.0.100 514"},
		{"[fd00::100]:443/udp", "udp fd00::100 443"},
		{"[::]:15672", "tcp :: 15672"},
		{"*:4369", "tcp 0.0.0.0 4369"},
		{"/run/app/app.sock", "unix /run/app/app.sock 0"},
		{"unix:/run/app//x.sock", "unix /run/app/x.sock 0"},
		{"unix:relative.sock", "!"},
		{"5672", "!"},
		{"10.0.0.1:0", "!"},
		{"10.0.0.1:65536", "!"},
		{"10.0.0.1:80/sctp", "!"},
		{"fd00::1:80", "!"},
		{"[10.0.0.1]:80", "!"},
		{"lb.example.com:80", "!"},
	} {
		l, err := parseDeclaredListen(tt.in)
		got := "!"
		if err == "" {
			got = fmt.Sprintf("%s %s %d", l.Proto, l.Address(), l.Port)
		}
		if got != tt.want {
			t.Errorf("parseDeclaredListen(%q) = %q (%s), want %q", tt.in, got, err, tt.want)
		}
	}
}
